//! Per-thread scratch buffers so policy-variable substitution does not allocate per statement.

use std::cell::RefCell;

use crate::wildcard::Tok;

thread_local! {
    static TOKS: RefCell<Vec<Tok>> = const { RefCell::new(Vec::new()) };
    static TEXT: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs `f` with an empty, reused token buffer.
pub fn with_tokens<R>(f: impl FnOnce(&mut Vec<Tok>) -> R) -> R {
    TOKS.with(|c| match c.try_borrow_mut() {
        Ok(mut b) => {
            b.clear();
            f(&mut b)
        }
        Err(_) => f(&mut Vec::new()),
    })
}

/// Runs `f` with an empty, reused text buffer.
pub fn with_text<R>(f: impl FnOnce(&mut String) -> R) -> R {
    TEXT.with(|c| match c.try_borrow_mut() {
        Ok(mut b) => {
            b.clear();
            f(&mut b)
        }
        Err(_) => f(&mut String::new()),
    })
}
