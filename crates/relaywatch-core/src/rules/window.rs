//! The sliding window's shape and its in-memory model; rule: a window is a ring of `slots` slots
//! of `slot_seconds` each, a slot remembers which slot number it holds, and a sum covers exactly
//! the slot numbers `(now - slots, now]` — so a burst is counted whole wherever it falls, never
//! split by a fixed bucket boundary. The Redis script in `error_rate.rs` keeps the same ring in a
//! hash (`t<i>`, `r<i>`, `e<i>` per slot `i`); [`Ring`] is the same algorithm in memory, the
//! reference the unit tests (and a reader of the script) check against.

/// Slots in a window at most: windows up to 120 s count per second, longer ones per
/// `ceil(window / 120)` seconds.
pub const MAX_SLOTS: u64 = 120;

/// Requests and errors counted together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub requests: u64,
    pub errors: u64,
}

impl Counts {
    pub fn add(&mut self, o: Counts) {
        self.requests += o.requests;
        self.errors += o.errors;
    }
}

/// How a window of `window_seconds` is cut into slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowShape {
    pub slot_seconds: u64,
    pub slots: u64,
}

impl WindowShape {
    pub fn for_window(window_seconds: u64) -> Self {
        let w = window_seconds.max(1);
        let slot_seconds = w.div_ceil(MAX_SLOTS);
        WindowShape {
            slot_seconds,
            slots: w.div_ceil(slot_seconds),
        }
    }

    /// The slot number of an epoch second.
    pub fn slot_of(&self, epoch_seconds: i64) -> i64 {
        epoch_seconds.div_euclid(self.slot_seconds as i64)
    }

    /// Whether slot `slot` is inside the window ending with slot `now`.
    pub fn covers(&self, slot: i64, now: i64) -> bool {
        slot > now - self.slots as i64 && slot <= now
    }
}

/// The ring in memory (see the module doc).
#[derive(Debug, Clone)]
pub struct Ring {
    shape: WindowShape,
    stamp: Vec<Option<i64>>,
    counts: Vec<Counts>,
}

impl Ring {
    pub fn new(shape: WindowShape) -> Self {
        Ring {
            shape,
            stamp: vec![None; shape.slots as usize],
            counts: vec![Counts::default(); shape.slots as usize],
        }
    }

    /// Count `c` in slot `slot` as of slot `now`; a slot outside the window is dropped (false).
    pub fn add(&mut self, slot: i64, c: Counts, now: i64) -> bool {
        if !self.shape.covers(slot, now) {
            return false;
        }
        let i = slot.rem_euclid(self.shape.slots as i64) as usize;
        match self.stamp[i] {
            Some(s) if s == slot => self.counts[i].add(c),
            Some(s) if s > slot => return false,
            _ => {
                self.stamp[i] = Some(slot);
                self.counts[i] = c;
            }
        }
        true
    }

    /// The sum over the window ending with slot `now`.
    pub fn sum(&self, now: i64) -> Counts {
        let mut total = Counts::default();
        for (s, c) in self.stamp.iter().zip(&self.counts) {
            if let Some(s) = s {
                if self.shape.covers(*s, now) {
                    total.add(*c);
                }
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(
            WindowShape::for_window(60),
            WindowShape {
                slot_seconds: 1,
                slots: 60
            }
        );
        assert_eq!(
            WindowShape::for_window(3600),
            WindowShape {
                slot_seconds: 30,
                slots: 120
            }
        );
        assert_eq!(
            WindowShape::for_window(121),
            WindowShape {
                slot_seconds: 2,
                slots: 61
            }
        );
    }

    #[test]
    fn ring_forgets_what_left_the_window_and_reuses_slots() {
        let mut r = Ring::new(WindowShape::for_window(10));
        let e = |n| Counts {
            requests: n,
            errors: n,
        };
        assert!(r.add(100, e(3), 100));
        assert!(r.add(105, e(2), 105));
        assert_eq!(r.sum(105).errors, 5);
        assert_eq!(r.sum(109).errors, 5);
        assert_eq!(r.sum(110).errors, 2, "slot 100 left the window");
        assert!(r.add(110, e(1), 110), "reuses slot 100's place");
        assert_eq!(r.sum(110).errors, 3);
        assert!(!r.add(100, e(9), 110), "too old");
        assert!(!r.add(111, e(9), 110), "in the future");
        assert_eq!(r.sum(115).errors, 1);
    }
}
