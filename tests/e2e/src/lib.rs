//! Support code lives in tests/.
