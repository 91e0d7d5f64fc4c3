//! Long lists, shown a page at a time.

/// Which page of a long list is shown (50 rows a page).
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: i64,
    pub pages: i64,
}

impl Paging {
    pub const SIZE: i64 = 50;

    /// The requested page (`?page=`, anything odd is the first) of `total` rows.
    pub fn of(total: i64, requested: Option<&str>) -> Paging {
        let pages = ((total + Self::SIZE - 1) / Self::SIZE).max(1);
        let page = requested
            .and_then(|p| p.trim().parse::<i64>().ok())
            .unwrap_or(1)
            .clamp(1, pages);
        Paging { page, pages }
    }

    /// The rows to read.
    pub fn window(&self) -> crate::store::Page {
        crate::store::Page {
            top: Some(Self::SIZE),
            skip: Some((self.page - 1) * Self::SIZE),
        }
    }

    pub fn previous(&self) -> Option<i64> {
        (self.page > 1).then_some(self.page - 1)
    }

    pub fn next(&self) -> Option<i64> {
        (self.page < self.pages).then_some(self.page + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging() {
        let p = Paging::of(120, Some("3"));
        assert_eq!((p.page, p.pages), (3, 3));
        assert_eq!(p.window().skip, Some(100));
        assert_eq!((p.previous(), p.next()), (Some(2), None));
        let p = Paging::of(0, Some("-4"));
        assert_eq!((p.page, p.pages), (1, 1));
        assert_eq!(Paging::of(51, Some("x")).next(), Some(2));
    }
}
