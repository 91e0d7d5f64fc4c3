//! What every page shares, one job a file: the frame around it and rendering ([`frame`]), the
//! notices shown after a change ([`notice`]), the GUI's errors and error page ([`error`]), the
//! page that asks before a deletion ([`confirm`]), where requests go next ([`redirect`]),
//! long lists a page at a time ([`paging`]) and how times are shown ([`time`]).

mod confirm;
mod error;
mod frame;
mod notice;
mod paging;
mod redirect;
mod time;

pub use confirm::ConfirmPage;
pub use error::GuiError;
pub use frame::{render, render_status, Chrome, Nav};
pub use notice::{notice_code, Done, Kind, Notice};
pub use paging::Paging;
pub use redirect::{deleted, safe_next, saved, see_other};
pub use time::{input_value, utc_text, When};

/// An entity id in a path; anything else is a page that does not exist.
pub fn parse_id(raw: &str) -> Result<i64, GuiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(GuiError::NotFound)
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
