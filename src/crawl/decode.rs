//! Content-Encoding decoding under a size cap. The crawler decodes bodies itself
//! rather than letting the HTTP client do it, because only here can it tell a large
//! page (cut at the cap and kept) from a compression bomb (a small compressed body
//! that inflates past the cap: refused, never inflated further).

use std::io::{self, Write};

/// A writer that keeps at most `cap` bytes and fails once more arrive.
#[derive(Debug)]
pub struct Capped {
    buf: Vec<u8>,
    cap: usize,
    overflowed: bool,
}

impl Capped {
    fn new(cap: usize) -> Capped {
        Capped {
            buf: Vec::new(),
            cap,
            overflowed: false,
        }
    }
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.cap - self.buf.len();
        if data.len() > room {
            self.buf.extend_from_slice(&data[..room]);
            self.overflowed = true;
            return Err(io::Error::other("decoded body exceeds the cap"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body inflates past the cap: a compression bomb, or a page too large.
    #[error("the {encoding}-encoded body inflates past {cap} bytes; refused")]
    Bomb {
        /// The content encoding.
        encoding: &'static str,
        /// The cap.
        cap: usize,
    },
    /// The compressed data is damaged.
    #[error("damaged {encoding} data")]
    Corrupt {
        /// The content encoding.
        encoding: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An encoding markhound does not decode.
    #[error("unsupported Content-Encoding {0:?}")]
    Unsupported(String),
}

enum Inner {
    Identity(Capped),
    Gzip(flate2::write::GzDecoder<Capped>),
    Deflate(flate2::write::ZlibDecoder<Capped>),
    Brotli(Box<brotli_decompressor::DecompressorWriter<Capped>>),
}

/// Decodes a body chunk by chunk.
pub struct Decoder {
    inner: Inner,
    encoding: &'static str,
    cap: usize,
    /// A plain body was cut at the cap.
    pub truncated: bool,
}

impl Decoder {
    /// A decoder for a `Content-Encoding` value (`None`: identity) keeping at most
    /// `cap` decoded bytes.
    pub fn new(content_encoding: Option<&str>, cap: usize) -> Result<Decoder, DecodeError> {
        let enc = content_encoding
            .map(|e| e.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let (inner, encoding) = match enc.as_str() {
            "" | "identity" => (Inner::Identity(Capped::new(cap)), "identity"),
            "gzip" | "x-gzip" => (
                Inner::Gzip(flate2::write::GzDecoder::new(Capped::new(cap))),
                "gzip",
            ),
            "deflate" => (
                Inner::Deflate(flate2::write::ZlibDecoder::new(Capped::new(cap))),
                "deflate",
            ),
            "br" => (
                Inner::Brotli(Box::new(brotli_decompressor::DecompressorWriter::new(
                    Capped::new(cap),
                    4096,
                ))),
                "br",
            ),
            other => return Err(DecodeError::Unsupported(other.to_owned())),
        };
        Ok(Decoder {
            inner,
            encoding,
            cap,
            truncated: false,
        })
    }

    /// Feeds a chunk; returns `false` once no more input is wanted.
    pub fn push(&mut self, chunk: &[u8]) -> Result<bool, DecodeError> {
        let result = match &mut self.inner {
            Inner::Identity(w) => {
                if w.write_all(chunk).is_err() {
                    self.truncated = true;
                    return Ok(false);
                }
                return Ok(true);
            }
            Inner::Gzip(d) => d.write_all(chunk),
            Inner::Deflate(d) => d.write_all(chunk),
            Inner::Brotli(d) => d.write_all(chunk),
        };
        self.check(result)?;
        Ok(true)
    }

    fn sink(&self) -> &Capped {
        match &self.inner {
            Inner::Identity(w) => w,
            Inner::Gzip(d) => d.get_ref(),
            Inner::Deflate(d) => d.get_ref(),
            Inner::Brotli(d) => d.get_ref(),
        }
    }

    fn check(&self, result: io::Result<()>) -> Result<(), DecodeError> {
        match result {
            Ok(()) => Ok(()),
            Err(_) if self.sink().overflowed => Err(DecodeError::Bomb {
                encoding: self.encoding,
                cap: self.cap,
            }),
            Err(source) => Err(DecodeError::Corrupt {
                encoding: self.encoding,
                source,
            }),
        }
    }

    /// Ends the stream and returns the decoded body.
    pub fn finish(self) -> Result<Vec<u8>, DecodeError> {
        let encoding = self.encoding;
        let cap = self.cap;
        let bomb = || DecodeError::Bomb { encoding, cap };
        let corrupt = |source| DecodeError::Corrupt { encoding, source };
        let bomb_seen = self.sink().overflowed;
        let done = match self.inner {
            Inner::Identity(w) => return Ok(w.buf),
            Inner::Gzip(d) => d.finish(),
            Inner::Deflate(d) => d.finish(),
            Inner::Brotli(d) => match d.into_inner() {
                Ok(w) => Ok(w),
                Err(w) if w.overflowed => return Err(bomb()),
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "incomplete brotli stream",
                )),
            },
        };
        match done {
            Ok(w) if w.overflowed => Err(bomb()),
            Ok(w) => Ok(w.buf),
            Err(_) if bomb_seen => Err(bomb()),
            Err(e) => Err(corrupt(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn plain_bodies_are_cut_and_compressed_bombs_refused() {
        let mut d = Decoder::new(None, 10).unwrap();
        assert!(d.push(b"0123456").unwrap());
        assert!(!d.push(b"789abc").unwrap());
        assert!(d.truncated);
        assert_eq!(d.finish().unwrap(), b"0123456789");

        let page = b"<html>hello</html>".repeat(10);
        let mut d = Decoder::new(Some("gzip"), 1000).unwrap();
        for chunk in gzip(&page).chunks(7) {
            assert!(d.push(chunk).unwrap());
        }
        assert_eq!(d.finish().unwrap(), page);

        let bomb = gzip(&vec![0u8; 1 << 20]);
        let mut d = Decoder::new(Some("GZIP"), 1000).unwrap();
        let err = bomb
            .chunks(512)
            .map(|c| d.push(c))
            .find_map(Result::err)
            .expect("refused");
        assert!(matches!(err, DecodeError::Bomb { cap: 1000, .. }), "{err}");
    }

    #[test]
    fn brotli_deflate_and_damage() {
        let page = b"<p>brotli</p>".repeat(50);
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
            w.write_all(&page).unwrap();
        }
        let mut d = Decoder::new(Some("br"), 10_000).unwrap();
        d.push(&br).unwrap();
        assert_eq!(d.finish().unwrap(), page);

        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&page).unwrap();
        let mut d = Decoder::new(Some("deflate"), 10_000).unwrap();
        d.push(&z.finish().unwrap()).unwrap();
        assert_eq!(d.finish().unwrap(), page);

        let mut d = Decoder::new(Some("gzip"), 10_000).unwrap();
        let r = d
            .push(b"not gzip at all")
            .and_then(|_| d.finish().map(|_| true));
        assert!(matches!(r, Err(DecodeError::Corrupt { .. })));
        assert!(matches!(
            Decoder::new(Some("zstd-x"), 1),
            Err(DecodeError::Unsupported(_))
        ));
    }
}
