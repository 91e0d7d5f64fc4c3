//! `/api/Customers`.

use super::resource::Crud;
use crate::domain::{Customer, NewCustomer};
use crate::wire::model::{parse_customer, Envelope};
use crate::wire::{Doc, ModelState};

impl Crud for Customer {
    const COLLECTION: &'static str = "Customers";

    fn parse(doc: &Doc, _creating: bool) -> Result<(NewCustomer, Envelope), ModelState> {
        parse_customer(doc)
    }
}
