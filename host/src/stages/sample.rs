//! A random sample of a stream of unknown length, in one pass and with
//! memory bounded by the sample's size: reservoir sampling (Algorithm R)
//! driven by a seeded PCG generator, so the same seed over the same items
//! draws the same sample.

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// Room reserved up front at most, whatever the sample's size.
const INITIAL_CAPACITY: usize = 1024;

/// Keeps a uniform random sample of at most `size` of the items offered.
#[derive(Debug)]
pub struct Reservoir<T> {
    size: u64,
    /// Items offered so far.
    seen: u64,
    rng: Pcg64Mcg,
    /// The sample: each item with its position among those offered.
    items: Vec<(u64, T)>,
}

impl<T> Reservoir<T> {
    /// An empty sample of at most `size` items, drawn with `seed`.
    pub fn new(size: u64, seed: u64) -> Self {
        Reservoir {
            size,
            seen: 0,
            rng: Pcg64Mcg::seed_from_u64(seed),
            items: Vec::with_capacity(
                usize::try_from(size).map_or(INITIAL_CAPACITY, |n| n.min(INITIAL_CAPACITY)),
            ),
        }
    }

    /// Offer the next item: every item offered so far is in the sample with
    /// the same probability, `size / seen`.
    pub fn offer(&mut self, item: T) {
        let position = self.seen;
        self.seen += 1;
        if (self.items.len() as u64) < self.size {
            self.items.push((position, item));
            return;
        }
        let j = self.rng.random_range(0..=position);
        if j < self.size {
            self.items[j as usize] = (position, item);
        }
    }

    /// Items offered so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The sample, in the order its items were offered.
    pub fn into_sorted(mut self) -> Vec<T> {
        self.items.sort_unstable_by_key(|(position, _)| *position);
        self.items.into_iter().map(|(_, item)| item).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(size: u64, seed: u64, items: u32) -> Vec<u32> {
        let mut r = Reservoir::new(size, seed);
        for i in 0..items {
            r.offer(i);
        }
        assert_eq!(r.seen(), u64::from(items));
        r.into_sorted()
    }

    #[test]
    fn the_same_seed_draws_the_same_sample_and_another_seed_another() {
        let a = sample(10, 7, 1000);
        assert_eq!(a.len(), 10);
        assert_eq!(a, sample(10, 7, 1000));
        assert_ne!(a, sample(10, 8, 1000));
        // In source order, each item once.
        assert!(a.windows(2).all(|w| w[0] < w[1]), "{a:?}");
        // Not the first ten.
        assert!(a.iter().any(|&i| i >= 10), "{a:?}");
    }

    #[test]
    fn a_stream_shorter_than_the_sample_is_kept_whole() {
        assert_eq!(sample(10, 1, 4), [0, 1, 2, 3]);
        assert_eq!(sample(u64::MAX, 1, 3), [0, 1, 2]);
        assert_eq!(sample(3, 1, 0), Vec::<u32>::new());
    }

    #[test]
    fn every_item_is_about_equally_likely() {
        // 2,000 samples of 5 out of 50: each item is expected 200 times.
        let mut hits = [0u32; 50];
        for seed in 0..2000 {
            for i in sample(5, seed, 50) {
                hits[i as usize] += 1;
            }
        }
        let (min, max) = (*hits.iter().min().unwrap(), *hits.iter().max().unwrap());
        assert!(min > 140 && max < 260, "{hits:?}");
    }
}
