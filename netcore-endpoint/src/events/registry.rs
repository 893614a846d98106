//! The [`Registry`]: the listeners of a hub, lifecycle ones in a list and
//! user ones by event name.

use std::collections::HashMap;
use std::sync::Arc;

use super::listener::{ListenerId, Slot};
use super::topic::Selector;

#[derive(Default)]
pub(super) struct Registry {
    /// Lifecycle listeners, in registration order.
    pub(super) lifecycle: Vec<Arc<Slot>>,
    /// User listeners by event name, in registration order.
    pub(super) user: HashMap<Box<str>, Vec<Arc<Slot>>>,
}

impl Registry {
    pub(super) fn insert(&mut self, slot: Slot) {
        let slot = Arc::new(slot);
        match &slot.selector {
            Selector::Lifecycle(_) => self.lifecycle.push(slot),
            Selector::User(name) => self.user.entry(name.clone()).or_default().push(slot),
        }
    }

    pub(super) fn remove(&mut self, id: ListenerId) -> bool {
        if let Some(at) = self.lifecycle.iter().position(|slot| slot.id == id) {
            self.lifecycle.remove(at);
            return true;
        }
        let mut emptied = None;
        let mut found = false;
        for (name, slots) in &mut self.user {
            if let Some(at) = slots.iter().position(|slot| slot.id == id) {
                slots.remove(at);
                found = true;
                if slots.is_empty() {
                    emptied = Some(name.clone());
                }
                break;
            }
        }
        if let Some(name) = emptied {
            self.user.remove(&name);
        }
        found
    }

    pub(super) fn len(&self) -> usize {
        self.lifecycle.len() + self.user.values().map(Vec::len).sum::<usize>()
    }
}
