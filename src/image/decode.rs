//! Turning image files into pixels safely. Listing photos come from strangers, so
//! every decode runs under limits on file size, pixel count and decoder memory: a
//! truncated file, a decompression bomb or a 30,000 × 30,000 header gives a typed
//! error, never a panic or an out-of-memory. EXIF orientation is applied so that a
//! photo hashes the way it is displayed.

use std::cell::RefCell;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageDecoder, ImageReader};
use thiserror::Error;

/// Limits applied to every decode. The defaults suit marketplace photos with room to
/// spare (a 48-megapixel camera photo decodes; a 30,000 × 30,000 image does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest encoded file accepted, in bytes.
    pub max_bytes: u64,
    /// Largest image accepted, in pixels (width × height).
    pub max_pixels: u64,
    /// Most memory the decoder may allocate, in bytes (decoded pixels included).
    pub max_alloc: u64,
}

impl Limits {
    /// 64 MiB files, 50 megapixels, 512 MiB of decoder memory.
    pub const DEFAULT: Limits = Limits {
        max_bytes: 64 << 20,
        max_pixels: 50_000_000,
        max_alloc: 512 << 20,
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// Why an image could not be decoded.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The file could not be read.
    #[error("cannot read the file")]
    Read(#[source] std::io::Error),
    /// The encoded file is larger than [`Limits::max_bytes`].
    #[error("the file has {size} bytes, over the limit of {limit}")]
    TooManyBytes {
        /// Size of the file (at least this many bytes).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The image is larger than [`Limits::max_pixels`].
    #[error("the image is {width} x {height} pixels, over the limit of {limit} pixels")]
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The limit.
        limit: u64,
    },
    /// The decoder refused the declared width or height before reading pixels.
    #[error("the image's declared size is over the limit of {limit} pixels")]
    DimensionsOverLimit {
        /// The limit.
        limit: u64,
        /// What the decoder reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Decoding would need more memory than [`Limits::max_alloc`].
    #[error("decoding needs more memory than the limit of {limit} bytes")]
    TooMuchMemory {
        /// The limit.
        limit: u64,
        /// What the decoder reported, if it was the decoder that noticed.
        #[source]
        source: Option<image::ImageError>,
    },
    /// The bytes are not in a supported format.
    #[error("not a supported image (JPEG, PNG, WebP, GIF or BMP)")]
    UnsupportedFormat,
    /// The format is supported but this file uses a feature of it that is not.
    #[error("uses an unsupported feature of its format")]
    UnsupportedFeature(#[source] image::ImageError),
    /// The image is corrupt or truncated.
    #[error("corrupt or truncated image")]
    Corrupt(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// An error about one file; the cause says what is wrong with it.
    #[error("{}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: Box<ImageError>,
    },
}

impl ImageError {
    fn in_file(self, path: &Path) -> ImageError {
        ImageError::InFile {
            path: path.to_path_buf(),
            source: Box::new(self),
        }
    }

    fn from_image(err: image::ImageError, limits: &Limits) -> ImageError {
        match err {
            image::ImageError::Limits(_) => ImageError::TooMuchMemory {
                limit: limits.max_alloc,
                source: Some(err),
            },
            image::ImageError::Unsupported(ref u) => match u.kind() {
                image::error::UnsupportedErrorKind::Format(_) => ImageError::UnsupportedFormat,
                _ => ImageError::UnsupportedFeature(err),
            },
            image::ImageError::IoError(ref io) if io.kind() == std::io::ErrorKind::OutOfMemory => {
                ImageError::TooMuchMemory {
                    limit: limits.max_alloc,
                    source: Some(err),
                }
            }
            other => ImageError::Corrupt(Box::new(other)),
        }
    }
}

/// Memory hashing a decoded 8-bit image takes beside the image, per pixel: an RGB
/// copy where the image is not RGB already (3 bytes), the luma plane the hash is
/// computed from (4 bytes) and slack for the decoder's own buffers. Measured with
/// `/usr/bin/time -f %M markhound hash` on 16- and 49-megapixel PNGs: 8 to 8.5 bytes
/// a pixel beside the decoded image.
const WORKING_BYTES_PER_PIXEL: u64 = 8;

/// Decodes an image held in memory (JPEG, PNG, WebP, GIF's first frame or BMP; the
/// format is recognised from the content) and applies its EXIF orientation.
pub fn decode_bytes(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, ImageError> {
    let size = bytes.len() as u64;
    if size > limits.max_bytes {
        return Err(ImageError::TooManyBytes {
            size,
            limit: limits.max_bytes,
        });
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(ImageError::Read)?;
    match reader.format() {
        None => return Err(ImageError::UnsupportedFormat),
        Some(image::ImageFormat::Jpeg) => return decode_jpeg(bytes, limits),
        Some(_) => {}
    }
    let mut reader = reader;
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(limits.max_alloc);
    // Width and height alone may not exceed the pixel budget either; this lets the
    // decoders refuse absurd headers before they allocate anything.
    let side = u32::try_from(limits.max_pixels).unwrap_or(u32::MAX);
    image_limits.max_image_width = Some(side);
    image_limits.max_image_height = Some(side);
    reader.limits(image_limits);

    let mut decoder = reader.into_decoder().map_err(|e| pixel_error(e, limits))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImageError::TooManyPixels {
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    // The memory a photo costs is known before any pixel is decoded: the decoded
    // buffer, the 8-bit copy a deeper image is turned into, and the working copies
    // hashing makes ([`WORKING_BYTES_PER_PIXEL`]).
    let pixels = u64::from(width) * u64::from(height);
    let decoded = decoder.total_bytes();
    let deep = !matches!(
        decoder.color_type(),
        image::ColorType::L8
            | image::ColorType::La8
            | image::ColorType::Rgb8
            | image::ColorType::Rgba8
    );
    let needed = if deep {
        (decoded + 4 * pixels).max((4 + WORKING_BYTES_PER_PIXEL) * pixels)
    } else {
        decoded + WORKING_BYTES_PER_PIXEL * pixels
    };
    if needed > limits.max_alloc {
        return Err(ImageError::TooMuchMemory {
            limit: limits.max_alloc,
            source: None,
        });
    }
    // A broken EXIF block must not cost the photo: fall back to no rotation.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| pixel_error(e, limits))?;
    if deep {
        // Hashing reads 8 bits a channel: the deep buffer is dropped at once rather
        // than kept beside every later copy.
        image = if image.color().has_alpha() {
            DynamicImage::ImageRgba8(image.to_rgba8())
        } else if image.color().has_color() {
            DynamicImage::ImageRgb8(image.to_rgb8())
        } else {
            DynamicImage::ImageLuma8(image.to_luma8())
        };
    }
    image.apply_orientation(orientation);
    Ok(image)
}

/// Decodes a JPEG with zune-jpeg (the decoder inside the `image` crate) in strict
/// mode: the `image` crate's lenient mode paints the missing part of a truncated
/// file grey and reports success, and a hash of half a photo is worse than an error.
fn decode_jpeg(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, ImageError> {
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;

    // JPEG sides fit in 16 bits; the pixel budget is checked below, with the size.
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(usize::from(u16::MAX))
        .set_max_height(usize::from(u16::MAX));
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(
        zune_core::bytestream::ZCursor::new(bytes),
        options,
    );
    decoder
        .decode_headers()
        .map_err(|e| jpeg_error(e, limits))?;
    let (w, h) = decoder.dimensions().ok_or(ImageError::UnsupportedFormat)?;
    let (width, height) = (
        u32::try_from(w).unwrap_or(u32::MAX),
        u32::try_from(h).unwrap_or(u32::MAX),
    );
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImageError::TooManyPixels {
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    let gray = decoder.input_colorspace() == Some(ColorSpace::Luma);
    let out = if gray {
        ColorSpace::Luma
    } else {
        ColorSpace::RGB
    };
    decoder.set_options(decoder.options().jpeg_set_out_colorspace(out));
    // The output, then the larger of the decoder's coefficients (2 bytes each, what
    // a progressive file keeps) and the working copies hashing makes.
    let channels = if gray { 1 } else { 3 };
    let needed = u64::from(width)
        * u64::from(height)
        * (channels + (2 * channels).max(WORKING_BYTES_PER_PIXEL));
    if needed > limits.max_alloc {
        return Err(ImageError::TooMuchMemory {
            limit: limits.max_alloc,
            source: None,
        });
    }
    let orientation = decoder
        .exif()
        .and_then(|exif| image::metadata::Orientation::from_exif_chunk(exif))
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut pixels = SPARE_PIXELS.with(|spare| std::mem::take(&mut *spare.borrow_mut()));
    let size = decoder
        .output_buffer_size()
        .ok_or(ImageError::UnsupportedFormat)?;
    // The decoder overwrites every byte, so a recycled buffer needs no clearing.
    if pixels.len() >= size {
        pixels.truncate(size);
    } else {
        pixels.resize(size, 0);
    }
    decoder
        .decode_into(&mut pixels)
        .map_err(|e| jpeg_error(e, limits))?;
    let image = if gray {
        image::GrayImage::from_raw(width, height, pixels).map(DynamicImage::ImageLuma8)
    } else {
        image::RgbImage::from_raw(width, height, pixels).map(DynamicImage::ImageRgb8)
    };
    let mut image = image.ok_or_else(|| {
        ImageError::Corrupt(Box::from(
            "the decoder returned fewer pixels than the header declares",
        ))
    })?;
    image.apply_orientation(orientation);
    Ok(image)
}

fn jpeg_error(err: zune_jpeg::errors::DecodeErrors, limits: &Limits) -> ImageError {
    match err {
        zune_jpeg::errors::DecodeErrors::LargeDimensions(_) => ImageError::DimensionsOverLimit {
            limit: limits.max_pixels,
            source: Box::new(err),
        },
        other => ImageError::Corrupt(Box::new(other)),
    }
}

thread_local! {
    /// Pixel memory handed back by [`recycle`], reused by the next JPEG decode on
    /// this thread.
    static SPARE_PIXELS: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Largest buffer [`recycle`] keeps, so that one huge image does not pin its memory.
const SPARE_MAX_BYTES: usize = 64 << 20;

/// Gives a decoded image's pixel memory back for the next decode on this thread.
///
/// Optional: when hashing many photos, fresh memory for each one (the kernel
/// zeroes every page) costs about a fifth of the time; recycling avoids it.
pub fn recycle(image: DynamicImage) {
    let bytes = match image {
        DynamicImage::ImageRgb8(img) => img.into_raw(),
        DynamicImage::ImageLuma8(img) => img.into_raw(),
        DynamicImage::ImageRgba8(img) => img.into_raw(),
        _ => return,
    };
    if bytes.capacity() <= SPARE_MAX_BYTES {
        SPARE_PIXELS.with(|spare| {
            let mut spare = spare.borrow_mut();
            if bytes.capacity() > spare.capacity() {
                *spare = bytes;
            }
        });
    }
}

/// Maps a decoder error; a refused width or height becomes
/// [`ImageError::DimensionsOverLimit`].
fn pixel_error(err: image::ImageError, limits: &Limits) -> ImageError {
    if let image::ImageError::Limits(ref l) = err {
        if matches!(l.kind(), image::error::LimitErrorKind::DimensionError) {
            return ImageError::DimensionsOverLimit {
                limit: limits.max_pixels,
                source: Box::new(err),
            };
        }
    }
    ImageError::from_image(err, limits)
}

/// Reads and decodes an image file (see [`decode_bytes`]). Errors name the file.
pub fn decode_path(path: &Path, limits: &Limits) -> Result<DynamicImage, ImageError> {
    let bytes = read_file(path, limits)?;
    decode_bytes(&bytes, limits).map_err(|e| e.in_file(path))
}

/// Reads an image file's bytes within `limits.max_bytes`; errors name the file.
pub fn read_file(path: &Path, limits: &Limits) -> Result<Vec<u8>, ImageError> {
    read_limited(path, limits.max_bytes).map_err(|e| e.in_file(path))
}

/// Reads a whole file, refusing one larger than `max_bytes` without reading it all
/// (the size is checked up front and again while reading, in case the file grows).
fn read_limited(path: &Path, max_bytes: u64) -> Result<Vec<u8>, ImageError> {
    let file = std::fs::File::open(path).map_err(ImageError::Read)?;
    let meta = file.metadata().map_err(ImageError::Read)?;
    // A device, pipe or socket (`/dev/zero`, a FIFO) has no size to check up front
    // and may never end: only regular files are read.
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "is a directory"
        } else {
            "is not a regular file"
        };
        return Err(ImageError::Read(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            what,
        )));
    }
    if meta.len() > max_bytes {
        return Err(ImageError::TooManyBytes {
            size: meta.len(),
            limit: max_bytes,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ImageError::Read)?;
    if bytes.len() as u64 > max_bytes {
        return Err(ImageError::TooManyBytes {
            size: bytes.len() as u64,
            limit: max_bytes,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, Rgb, RgbImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, 7]));
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    /// A well-formed PNG whose header declares `width` × `height` but whose pixel
    /// data is a few bytes.
    fn png_header_only(width: u32, height: u32) -> Vec<u8> {
        png_header_of(width, height, 8, 2)
    }

    /// As [`png_header_only`], with the header's bit depth and colour type (2 RGB,
    /// 6 RGBA).
    fn png_header_of(width: u32, height: u32, depth: u8, colour: u8) -> Vec<u8> {
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[depth, colour, 0, 0, 0]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in [
            (&b"IHDR"[..], &ihdr[..]),
            (b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]),
            (b"IEND", &[]),
        ] {
            out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
            let mut chunk = kind.to_vec();
            chunk.extend_from_slice(data);
            out.extend_from_slice(&chunk);
            out.extend_from_slice(&crc32(&chunk).to_be_bytes());
        }
        out
    }

    // CRC-32 (IEEE) for the hand-built PNG header above, used by tests only.
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn decodes_a_png() {
        let img = decode_bytes(&png(20, 10), &Limits::default()).unwrap();
        assert_eq!((img.width(), img.height()), (20, 10));
    }

    #[test]
    fn huge_header_is_refused_before_allocating() {
        let err = decode_bytes(&png_header_only(30_000, 30_000), &Limits::default()).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::TooManyPixels {
                    width: 30_000,
                    height: 30_000,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn memory_is_counted_by_bytes_per_pixel_before_decoding() {
        // 47.6 megapixels pass the pixel limit; at 16 bits a channel with alpha they
        // need 381 MB decoded plus the 8-bit copy: refused before decoding.
        let err =
            decode_bytes(&png_header_of(6_900, 6_900, 16, 6), &Limits::default()).unwrap_err();
        assert!(matches!(err, ImageError::TooMuchMemory { .. }), "{err:?}");
        // The same size at 8 bits RGB fits (the header is read, then the missing
        // pixel data is the error).
        let err = decode_bytes(&png_header_of(6_900, 6_900, 8, 2), &Limits::default()).unwrap_err();
        assert!(!matches!(err, ImageError::TooMuchMemory { .. }), "{err:?}");
    }

    #[test]
    fn a_deep_image_is_kept_at_eight_bits() {
        let img = image::ImageBuffer::<image::Rgba<u16>, _>::from_fn(9, 7, |x, y| {
            image::Rgba([x as u16 * 7_000, y as u16 * 9_000, 1, u16::MAX])
        });
        let mut bytes = Vec::new();
        DynamicImage::ImageRgba16(img)
            .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
            .unwrap();
        let got = decode_bytes(&bytes, &Limits::default()).unwrap();
        assert!(
            matches!(got, DynamicImage::ImageRgba8(_)),
            "{:?}",
            got.color()
        );
        assert_eq!((got.width(), got.height()), (9, 7));
    }

    #[test]
    fn pixel_limit_applies() {
        let limits = Limits {
            max_pixels: 100,
            ..Limits::default()
        };
        let err = decode_bytes(&png(20, 10), &limits).unwrap_err();
        assert!(matches!(err, ImageError::TooManyPixels { .. }), "{err:?}");
        // A side longer than the whole budget is refused by the decoder itself.
        let limits = Limits {
            max_pixels: 15,
            ..Limits::default()
        };
        let err = decode_bytes(&png(20, 10), &limits).unwrap_err();
        assert!(
            matches!(err, ImageError::DimensionsOverLimit { limit: 15, .. }),
            "{err:?}"
        );
        let err = decode_bytes(&jpeg(20, 10, 0), &limits).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::TooManyPixels {
                    width: 20,
                    height: 10,
                    limit: 15
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn byte_limit_applies() {
        let limits = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        let err = decode_bytes(&png(20, 10), &limits).unwrap_err();
        assert!(matches!(err, ImageError::TooManyBytes { .. }), "{err:?}");
    }

    #[test]
    fn truncated_png_is_corrupt() {
        let bytes = png(64, 64);
        for cut in [9, 20, 33, 40, bytes.len() / 2, bytes.len() - 13] {
            let err = decode_bytes(&bytes[..cut], &Limits::default()).unwrap_err();
            assert!(matches!(err, ImageError::Corrupt(_)), "cut {cut}: {err:?}");
        }
    }

    #[test]
    fn text_is_not_an_image() {
        let err = decode_bytes(b"hello, world\n", &Limits::default()).unwrap_err();
        assert!(matches!(err, ImageError::UnsupportedFormat), "{err:?}");
        let err = decode_bytes(b"", &Limits::default()).unwrap_err();
        assert!(matches!(err, ImageError::UnsupportedFormat), "{err:?}");
    }

    fn jpeg(width: u32, height: u32, shade: u8) -> Vec<u8> {
        let img = RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x * 5) as u8, (y * 3) as u8 ^ shade, shade])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    /// `jpeg` with an EXIF block saying "rotate 90° clockwise to display".
    fn jpeg_rotated(width: u32, height: u32) -> Vec<u8> {
        let plain = jpeg(width, height, 0);
        let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01".to_vec();
        tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        let mut app1 = vec![0xff, 0xe1];
        app1.extend_from_slice(&u16::try_from(2 + 6 + tiff.len()).unwrap().to_be_bytes());
        app1.extend_from_slice(b"Exif\x00\x00");
        app1.extend_from_slice(&tiff);
        let mut out = plain[..2].to_vec();
        out.extend_from_slice(&app1);
        out.extend_from_slice(&plain[2..]);
        out
    }

    #[test]
    fn exif_orientation_is_applied() {
        let img = decode_bytes(&jpeg_rotated(40, 20), &Limits::default()).unwrap();
        assert_eq!((img.width(), img.height()), (20, 40));
        let upright = decode_bytes(&jpeg(40, 20, 0), &Limits::default()).unwrap();
        assert_eq!(img.to_rgb8(), upright.rotate90().to_rgb8());
    }

    #[test]
    fn recycled_memory_does_not_leak_into_the_next_image() {
        let big = decode_bytes(&jpeg(64, 48, 200), &Limits::default()).unwrap();
        let small_bytes = jpeg(24, 16, 7);
        let fresh = decode_bytes(&small_bytes, &Limits::default()).unwrap();
        recycle(big);
        let reused = decode_bytes(&small_bytes, &Limits::default()).unwrap();
        assert_eq!(fresh, reused);
    }

    #[test]
    fn lossless_formats_give_the_same_pixels() {
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(33, 17, |x, y| {
            Rgb([(x * 7) as u8, (y * 11) as u8, (x ^ y) as u8])
        }));
        let want = img.to_rgb8();
        for format in [
            image::ImageFormat::Png,
            image::ImageFormat::Bmp,
            image::ImageFormat::WebP,
        ] {
            let mut bytes = Cursor::new(Vec::new());
            img.write_to(&mut bytes, format).unwrap();
            let got = decode_bytes(bytes.get_ref(), &Limits::default()).unwrap();
            assert_eq!(got.to_rgb8(), want, "{format:?}");
        }
    }

    #[test]
    fn gif_gives_its_first_frame() {
        use image::codecs::gif::GifEncoder;
        use image::{Delay, Frame, Rgba, RgbaImage};
        let frame = |c: [u8; 4]| {
            Frame::from_parts(
                RgbaImage::from_pixel(12, 9, Rgba(c)),
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            )
        };
        let mut bytes = Vec::new();
        {
            let mut encoder = GifEncoder::new(&mut bytes);
            encoder
                .encode_frames([frame([255, 0, 0, 255]), frame([0, 0, 255, 255])])
                .unwrap();
        }
        let img = decode_bytes(&bytes, &Limits::default()).unwrap();
        assert_eq!((img.width(), img.height()), (12, 9));
        assert_eq!(img.to_rgb8().get_pixel(5, 5), &Rgb([255, 0, 0]));
    }

    fn sample_files() -> Vec<Vec<u8>> {
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(24, 16, |x, y| {
            Rgb([(x * 9) as u8, (y * 13) as u8, (x * y) as u8])
        }));
        let mut files = vec![jpeg(24, 16, 3), jpeg_rotated(16, 8)];
        for format in [
            image::ImageFormat::Png,
            image::ImageFormat::Bmp,
            image::ImageFormat::WebP,
            image::ImageFormat::Gif,
        ] {
            let mut bytes = Cursor::new(Vec::new());
            img.write_to(&mut bytes, format).unwrap();
            files.push(bytes.into_inner());
        }
        files
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        /// Damaged files give an error or an image that hashes, never a panic.
        #[test]
        fn damaged_files_never_panic(
            which in 0usize..6,
            edits in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 0..8),
            cut in 0usize..4096,
        ) {
            let mut bytes = sample_files().swap_remove(which);
            for (at, value) in edits {
                let n = bytes.len();
                bytes[at % n] = value;
            }
            let keep = bytes.len() - cut % bytes.len();
            bytes.truncate(keep);
            let limits = Limits { max_alloc: 16 << 20, ..Limits::default() };
            if let Ok(img) = decode_bytes(&bytes, &limits) {
                proptest::prop_assert!(u64::from(img.width()) * u64::from(img.height()) <= limits.max_pixels);
                proptest::prop_assert!(crate::image::pdq_hash(&img).quality <= 100);
            }
        }
    }

    #[test]
    fn errors_from_paths_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.jpg");
        let err = decode_path(&missing, &Limits::default()).unwrap_err();
        let chain = format!("{:#}", anyhow::Error::new(err));
        assert!(chain.contains("missing.jpg"), "{chain}");
        assert!(chain.contains("cannot read"), "{chain}");
    }
}
