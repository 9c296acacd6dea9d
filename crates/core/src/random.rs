//! Randomness as an input: the OS CSPRNG in production, a seeded stream
//! in tests (`testing::SeededRandom`).

/// The CSPRNG is unavailable (getrandom failed). Never expected on Workers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomError;

impl std::fmt::Display for RandomError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("random source unavailable")
    }
}

/// Fills buffers with random bytes.
pub trait Random {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError>;
}

/// The platform CSPRNG (`crypto.getRandomValues` on Workers, the OS elsewhere).
#[derive(Clone, Copy, Debug, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(buf).map_err(|_| RandomError)
    }
}

impl<R: Random + ?Sized> Random for &R {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill(buf)
    }
}

impl<R: Random + ?Sized> Random for std::rc::Rc<R> {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_random_fills_the_whole_buffer() {
        let mut buf = [0u8; 64];
        OsRandom.fill(&mut buf).unwrap();
        // 64 zero bytes from a CSPRNG has probability 2^-512.
        assert!(buf.iter().any(|&b| b != 0));
    }
}
