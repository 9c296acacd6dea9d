//! Randomness as an input: the OS CSPRNG in production, a seeded stream in tests.

use sha2::{Digest, Sha256};
use std::cell::Cell;

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

/// A deterministic stream for tests: SHA-256 of (seed, counter) blocks.
/// Not for production: anyone knowing the seed knows every byte.
#[derive(Debug)]
pub struct SeededRandom {
    seed: u64,
    counter: Cell<u64>,
}

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: Cell::new(0),
        }
    }
}

impl Random for SeededRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        for chunk in buf.chunks_mut(32) {
            let n = self.counter.get();
            self.counter.set(n + 1);
            let mut h = Sha256::new();
            h.update(self.seed.to_le_bytes());
            h.update(n.to_le_bytes());
            let block = h.finalize();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
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
    fn seeded_random_is_deterministic_per_seed_and_never_repeats_blocks() {
        let (a, b, c) = (
            SeededRandom::new(7),
            SeededRandom::new(7),
            SeededRandom::new(8),
        );
        let (mut x, mut y, mut z) = ([0u8; 40], [0u8; 40], [0u8; 40]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        c.fill(&mut z).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, z);
        let mut next = [0u8; 40];
        a.fill(&mut next).unwrap();
        assert_ne!(x, next);
    }

    #[test]
    fn os_random_fills_the_whole_buffer() {
        let mut buf = [0u8; 64];
        OsRandom.fill(&mut buf).unwrap();
        // 64 zero bytes from a CSPRNG has probability 2^-512.
        assert!(buf.iter().any(|&b| b != 0));
    }
}
