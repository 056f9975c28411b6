//! A small memory of what was made of recently seen keys, for work that the few keys busy at a
//! time repeat frame after frame (the address columns of the packet list, the service of a
//! port pair in `stats`).
//!
//! A key may go to any of the `WAYS` entries of one set, which its hash picks; a set keeps its
//! entries from the most recently used to the least, and a miss replaces the last. So keys
//! that share a set take entries from each other only when more than `WAYS` of them are busy
//! at once: whether two busy keys meet does not depend on the luck of a hash on one capture,
//! as it does with one entry per slot.

/// Up to `SETS * WAYS` keys and their values. A key is one word that packs what it stands for
/// without loss (two IPv4 addresses, a transport and two ports), so that telling keys apart is
/// one comparison.
pub struct Recent<V, const SETS: usize, const WAYS: usize> {
    keys: Box<[[Option<u64>; WAYS]; SETS]>,
    values: Box<[[V; WAYS]; SETS]>,
}

impl<V: Default, const SETS: usize, const WAYS: usize> Default for Recent<V, SETS, WAYS> {
    fn default() -> Self {
        Recent {
            keys: Box::new([[None; WAYS]; SETS]),
            values: Box::new(std::array::from_fn(|_| {
                std::array::from_fn(|_| V::default())
            })),
        }
    }
}

impl<V, const SETS: usize, const WAYS: usize> std::fmt::Debug for Recent<V, SETS, WAYS> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recent")
            .field("sets", &SETS)
            .field("ways", &WAYS)
            .finish_non_exhaustive()
    }
}

impl<V, const SETS: usize, const WAYS: usize> Recent<V, SETS, WAYS> {
    /// The set of a key: the top bits of its product with 2^64 / φ (Fibonacci hashing), so
    /// that keys differing only in their low bits spread.
    fn set_of(key: u64) -> usize {
        let mixed = key.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        // A power of two in every use; `%` keeps any other count in range too.
        (mixed >> 32) as usize % SETS.max(1)
    }

    /// The value kept for `key`, if it is still kept. A busy key stays first in its set, where
    /// it is found by one comparison.
    pub fn get(&mut self, key: u64) -> Option<&V> {
        let set = Self::set_of(key);
        let keys = self.keys.get_mut(set)?;
        let way = keys.iter().position(|&k| k == Some(key))?;
        let values = self.values.get_mut(set)?;
        if way > 0 {
            keys.get_mut(..=way)?.rotate_right(1);
            values.get_mut(..=way)?.rotate_right(1);
        }
        values.first()
    }

    /// An entry for `key` (which [`Recent::get`] did not find), first in its set, in place of
    /// the set's least recently used one. Returned is the entry's value as the key it replaces
    /// left it (or the default), for the caller to overwrite: a `String` is rewritten in its
    /// own allocation. `None` only if `WAYS` is 0.
    pub fn put(&mut self, key: u64) -> Option<&mut V> {
        if WAYS == 0 {
            return None; // and `rotate_right(1)` would panic on an empty set
        }
        let set = Self::set_of(key);
        let keys = self.keys.get_mut(set)?;
        let values = self.values.get_mut(set)?;
        keys.rotate_right(1);
        values.rotate_right(1);
        *keys.first_mut()? = Some(key);
        values.first_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    type Mem = Recent<u64, 8, 4>;

    /// `n` keys of one set.
    fn one_set(n: usize) -> Vec<u64> {
        let set = Mem::set_of(0);
        (0..10_000)
            .filter(|&k| Mem::set_of(k) == set)
            .take(n)
            .collect()
    }

    /// Keys that all land in one set: as many as the set's ways stay, whatever their order;
    /// one more pushes out the least recently used, never a busier one.
    #[test]
    fn a_set_keeps_its_ways_and_gives_up_the_least_recently_used() {
        let keys = one_set(5);
        assert_eq!(keys.len(), 5);
        let mut mem = Mem::default();
        for &k in &keys[..4] {
            assert!(mem.get(k).is_none());
            *mem.put(k).unwrap() = k * 10;
        }
        for round in 0..3 {
            for &k in keys[..4].iter().rev() {
                assert_eq!(mem.get(k), Some(&(k * 10)), "key {k}, round {round}");
            }
        }
        // The first key is now the most recently used, the fourth the least: the fifth takes
        // the fourth's entry.
        assert!(mem.get(keys[4]).is_none());
        *mem.put(keys[4]).unwrap() = keys[4] * 10;
        assert!(mem.get(keys[3]).is_none());
        for &k in [keys[0], keys[1], keys[2], keys[4]].iter() {
            assert_eq!(mem.get(k), Some(&(k * 10)), "key {k}");
        }
    }

    /// A memory of no ways (or no sets) keeps nothing and hands out no entry.
    #[test]
    fn an_empty_shape_keeps_nothing() {
        let mut no_ways = Recent::<u64, 4, 0>::default();
        assert!(no_ways.put(1).is_none());
        assert!(no_ways.get(1).is_none());
        let mut no_sets = Recent::<u64, 0, 4>::default();
        assert!(no_sets.put(1).is_none());
        assert!(no_sets.get(1).is_none());
    }

    /// Another set's keys take nothing from this one's; an entry given to a new key comes with
    /// the value the old key left, for the caller to overwrite.
    #[test]
    fn sets_are_apart_and_a_reused_entry_holds_the_old_value() {
        type One = Recent<String, 2, 1>;
        let mut mem = One::default();
        let a = 0;
        let b = (1..1000)
            .find(|&k| One::set_of(k) != One::set_of(a))
            .unwrap();
        let c = (1..1000)
            .find(|&k| One::set_of(k) == One::set_of(a))
            .unwrap();
        mem.put(a).unwrap().push_str("first");
        mem.put(b).unwrap().push_str("second");
        assert_eq!(mem.get(a).map(String::as_str), Some("first"));
        assert_eq!(mem.get(b).map(String::as_str), Some("second"));
        let reused = mem.put(c).unwrap();
        assert_eq!(reused, "first");
        reused.clear();
        reused.push_str("third");
        assert!(mem.get(a).is_none());
        assert_eq!(mem.get(c).map(String::as_str), Some("third"));
        assert_eq!(mem.get(b).map(String::as_str), Some("second"));
    }
}
