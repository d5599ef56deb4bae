//! The response buffer an org's client reads its pages into, kept from one page to the next.
//!
//! A System Log page of 1 000 events is ≈ 1.5 MB. Read into a new buffer each time, every page
//! was memory new to the process: the functions' allocator gives freed memory back to the
//! system at once (`MIMALLOC_PURGE_DELAY=0`, `infra/contract.json`), so each page faulted in
//! some 370 fresh 4 KiB pages. Kept, the next page is read into the same memory. It is kept
//! only up to [`OKTA_KEPT_BODY_BYTES`], so one unusually large page is not held for the rest of
//! the run. Each stream run has its own client and fetches one page at a time; should a clone
//! of the client fetch while the buffer is in use, it reads into a new one.

use crate::limits::OKTA_KEPT_BODY_BYTES;
use std::sync::{Arc, Mutex};

/// One buffer, shared by the clones of an org's client.
#[derive(Clone, Default)]
pub(super) struct BodyBuffer(Arc<Mutex<Vec<u8>>>);

impl BodyBuffer {
    /// An empty buffer with room for `room` bytes: the kept one if it is free, else a new one.
    pub(super) fn take(&self, room: usize) -> Vec<u8> {
        let mut body = self
            .0
            .lock()
            .map(|mut kept| std::mem::take(&mut *kept))
            .unwrap_or_default();
        if body.capacity() < room {
            // Growing it would copy the last page's bytes over for nothing.
            return Vec::with_capacity(room);
        }
        body.clear();
        body
    }

    /// Keeps `body` for the next page, unless it is larger than [`OKTA_KEPT_BODY_BYTES`] or
    /// the buffer kept meanwhile is larger.
    pub(super) fn give_back(&self, body: Vec<u8>) {
        if body.capacity() > OKTA_KEPT_BODY_BYTES {
            return;
        }
        if let Ok(mut kept) = self.0.lock()
            && kept.capacity() < body.capacity()
        {
            *kept = body;
        }
    }
}

/// Its size only: a page is the org's data.
impl std::fmt::Debug for BodyBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.0.lock().map(|kept| kept.capacity()).unwrap_or(0);
        f.debug_struct("BodyBuffer")
            .field("kept_bytes", &kept)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_is_read_into_the_kept_memory() {
        let buffer = BodyBuffer::default();
        let mut body = buffer.take(1000);
        body.extend_from_slice(b"[{\"uuid\":\"a\"}]");
        let at = body.as_ptr();
        buffer.give_back(body);

        let next = buffer.take(500);
        assert!(
            next.is_empty(),
            "the previous page's bytes are not part of the next"
        );
        assert_eq!(next.as_ptr(), at, "the same memory");
        assert!(next.capacity() >= 1000);
    }

    #[test]
    fn a_larger_page_gets_a_new_buffer_with_room_for_it() {
        let buffer = BodyBuffer::default();
        let mut body = buffer.take(100);
        body.extend_from_slice(b"old page");
        buffer.give_back(body);

        let next = buffer.take(10_000);
        assert!(next.is_empty());
        assert!(next.capacity() >= 10_000);
    }

    #[test]
    fn a_buffer_in_use_is_not_shared() {
        let buffer = BodyBuffer::default();
        buffer.give_back(Vec::with_capacity(100));
        let first = buffer.take(100);
        let second = buffer.clone().take(100);
        assert_ne!(first.as_ptr(), second.as_ptr());
    }

    #[test]
    fn an_oversized_buffer_is_not_kept() {
        let buffer = BodyBuffer::default();
        buffer.give_back(Vec::with_capacity(OKTA_KEPT_BODY_BYTES + 1));
        assert_eq!(buffer.take(0).capacity(), 0);
    }

    #[test]
    fn debug_shows_the_size_not_the_page() {
        let buffer = BodyBuffer::default();
        let mut body = buffer.take(64);
        body.extend_from_slice(b"jane.doe@example.com");
        buffer.give_back(body);
        let shown = format!("{buffer:?}");
        assert!(!shown.contains("jane"), "{shown}");
        assert!(shown.contains("kept_bytes"), "{shown}");
    }
}
