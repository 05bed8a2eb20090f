//! A sliding replay window per sender: the highest sequence number accepted and a
//! bitmap of the [`REPLAY_WINDOW`] numbers below it, as in IPsec and WireGuard.

use crate::error::ReplayError;

/// How many sequence numbers at and below the highest one a [`ReplayWindow`] tracks;
/// older ones are refused as [`ReplayError::TooOld`]. Gossip reorders messages only
/// slightly; catch-up after that goes by state vectors, not by sequence numbers.
pub const REPLAY_WINDOW: u64 = 64;

/// Which of one sender's sequence numbers were already accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    highest: Option<u64>,
    /// Bit `i` is set when `highest - i` was accepted.
    seen: u64,
}

impl ReplayWindow {
    /// A window that has accepted nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The highest sequence number accepted so far.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }

    /// Whether `seq` would be accepted, without recording it.
    pub fn check(&self, seq: u64) -> Result<(), ReplayError> {
        let Some(highest) = self.highest else {
            return Ok(());
        };
        if seq > highest {
            return Ok(());
        }
        let behind = highest - seq;
        if behind >= REPLAY_WINDOW {
            return Err(ReplayError::TooOld { seq, highest });
        }
        if self.seen & (1 << behind) != 0 {
            return Err(ReplayError::Duplicate(seq));
        }
        Ok(())
    }

    /// Records `seq` if it is new. Call it only after the message was opened, so that
    /// forged messages cannot move the window.
    pub fn accept(&mut self, seq: u64) -> Result<(), ReplayError> {
        self.check(seq)?;
        match self.highest {
            Some(highest) if seq <= highest => self.seen |= 1 << (highest - seq),
            Some(highest) => {
                let shift = seq - highest;
                self.seen = if shift >= REPLAY_WINDOW {
                    1
                } else {
                    (self.seen << shift) | 1
                };
                self.highest = Some(seq);
            }
            None => {
                self.seen = 1;
                self.highest = Some(seq);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_messages_pass_once() {
        let mut window = ReplayWindow::new();
        for seq in 0..200 {
            window.accept(seq).unwrap();
            assert_eq!(window.accept(seq), Err(ReplayError::Duplicate(seq)));
        }
        assert_eq!(window.highest(), Some(199));
    }

    #[test]
    fn reordered_messages_within_the_window_pass() {
        let mut window = ReplayWindow::new();
        window.accept(100).unwrap();
        window.accept(90).unwrap();
        window.accept(37).unwrap();
        assert_eq!(window.accept(90), Err(ReplayError::Duplicate(90)));
        assert_eq!(
            window.accept(36),
            Err(ReplayError::TooOld {
                seq: 36,
                highest: 100
            })
        );
        window.accept(101).unwrap();
        window.accept(99).unwrap();
        assert_eq!(window.check(100), Err(ReplayError::Duplicate(100)));
        assert_eq!(
            window.check(37),
            Err(ReplayError::TooOld {
                seq: 37,
                highest: 101
            })
        );
        window.check(38).unwrap();
    }

    #[test]
    fn big_jumps_clear_the_window() {
        let mut window = ReplayWindow::new();
        window.accept(5).unwrap();
        window.accept(5 + REPLAY_WINDOW).unwrap();
        assert_eq!(
            window.check(5),
            Err(ReplayError::TooOld {
                seq: 5,
                highest: 5 + REPLAY_WINDOW
            })
        );
        window.accept(6).unwrap();
        window.accept(u64::MAX).unwrap();
        assert_eq!(
            window.accept(u64::MAX),
            Err(ReplayError::Duplicate(u64::MAX))
        );
        window.accept(u64::MAX - 63).unwrap();
        assert!(window.accept(u64::MAX - 64).is_err());
    }

    #[test]
    fn check_does_not_record() {
        let mut window = ReplayWindow::new();
        window.check(3).unwrap();
        window.check(3).unwrap();
        window.accept(3).unwrap();
        assert!(window.check(3).is_err());
    }
}
