//! User photos (`fields.avatar`): what the PBX accepts (CONTRACTS section 4, `PUT
//! /v1/extensions/{id}/avatar`), and the small reference to a photo that a read keeps instead
//! of its bytes, so that 10,000 users' photos are never held at once.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The largest photo the PBX takes.
pub const MAX_AVATAR_BYTES: usize = 256 * 1024;

/// The image types the PBX takes, told by their magic bytes (never by what a source claims).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageType {
    Jpeg,
    Png,
}

impl ImageType {
    /// JPEG starts with the SOI marker and a segment marker; PNG with its 8-byte signature.
    pub fn detect(bytes: &[u8]) -> Option<Self> {
        const PNG: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
        if bytes.len() >= 3 && bytes[..3] == [0xff, 0xd8, 0xff] {
            Some(Self::Jpeg)
        } else if bytes.starts_with(&PNG) {
            Some(Self::Png)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }
}

/// Lowercase hex SHA-256: what the PBX shows as an extension's `avatar_sha256`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A directory user's photo, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Photo {
    pub sha256: String,
    pub size: u64,
    /// `None`: neither JPEG nor PNG.
    pub image_type: Option<ImageType>,
}

/// A photo a directory names by version instead of bytes (Graph's `@odata.mediaEtag`): what
/// the read saw. The engine resolves it into a [`Photo`] before planning, from the mapping
/// when the ETag is the one sync last hashed, else by one download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoRef {
    Etag(String),
    /// The directory could not tell (its metadata request failed): the photo is left as it is.
    Unknown,
}

/// The photo behind one ETag, as sync last hashed it: kept in the user's mapping, so that an
/// unchanged ETag costs no download. Short names: it is in every mapping of a Graph tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenPhoto {
    #[serde(rename = "e")]
    pub etag: String,
    #[serde(rename = "h")]
    pub sha256: String,
    #[serde(rename = "s")]
    pub size: u64,
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub image_type: Option<ImageType>,
}

impl SeenPhoto {
    pub fn new(etag: &str, photo: &Photo) -> Self {
        Self {
            etag: etag.to_string(),
            sha256: photo.sha256.clone(),
            size: photo.size,
            image_type: photo.image_type,
        }
    }

    pub fn photo(&self) -> Photo {
        Photo {
            sha256: self.sha256.clone(),
            size: self.size,
            image_type: self.image_type,
        }
    }
}

/// Why a photo is not uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoProblem {
    TooLarge,
    UnsupportedType,
}

impl Photo {
    /// Hashes and sizes the bytes; the caller drops them.
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
            image_type: ImageType::detect(bytes),
        }
    }

    /// What stops the upload, if anything: the size first, then the type.
    pub fn problem(&self) -> Option<PhotoProblem> {
        if self.size > MAX_AVATAR_BYTES as u64 {
            Some(PhotoProblem::TooLarge)
        } else if self.image_type.is_none() {
            Some(PhotoProblem::UnsupportedType)
        } else {
            None
        }
    }
}

/// Bytes fetched for an upload, checked the same way as at read time: the photo may have
/// changed in between, so the upload goes by what was fetched.
pub fn checked_upload(bytes: &[u8]) -> Result<(ImageType, String), PhotoProblem> {
    let photo = Photo::of(bytes);
    match (photo.problem(), photo.image_type) {
        (None, Some(kind)) => Ok((kind, photo.sha256)),
        (Some(problem), _) => Err(problem),
        (None, None) => Err(PhotoProblem::UnsupportedType),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_by_magic_bytes_and_limits() {
        assert_eq!(
            ImageType::detect(&[0xff, 0xd8, 0xff, 0xe0]),
            Some(ImageType::Jpeg)
        );
        let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0];
        assert_eq!(ImageType::detect(&png), Some(ImageType::Png));
        assert_eq!(ImageType::detect(b"GIF89a"), None);
        assert_eq!(ImageType::detect(&[0xff, 0xd8]), None);
        assert_eq!(
            Photo::of(b"GIF89a").problem(),
            Some(PhotoProblem::UnsupportedType)
        );
        let mut big = vec![0xff, 0xd8, 0xff];
        big.resize(MAX_AVATAR_BYTES, 0);
        assert_eq!(Photo::of(&big).problem(), None);
        big.push(0);
        assert_eq!(Photo::of(&big).problem(), Some(PhotoProblem::TooLarge));
        assert_eq!(checked_upload(&big), Err(PhotoProblem::TooLarge));
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
