//! A global allocator that counts live heap bytes and their peak, so a benchmark can report
//! the memory one step needs. It allocates with the system allocator, as the worker Lambda
//! does, so that a reference read here and the same read in the worker run on the same one.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Off while a benchmark times something that allocates a lot, so the count's atomics are not
/// part of the time. Switched off only for good: frees while off are not counted either.
static COUNTING: AtomicBool = AtomicBool::new(true);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && COUNTING.load(Ordering::Relaxed) {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
    }
}

/// Resets the peak to the bytes live now and returns that baseline.
pub fn reset_peak() -> usize {
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    live
}

pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Stops counting for the rest of the process (see `COUNTING`).
pub fn stop_counting() {
    COUNTING.store(false, Ordering::Relaxed);
}
