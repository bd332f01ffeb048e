//! Sessions: the model (`session.yaml`), names, the store under `refs/sessions/*`, and the
//! machine-local state kept next to it.

pub mod event;
pub mod local;
pub mod lock;
pub mod model;
pub mod name;
pub mod parsed;
pub mod saved;
pub mod store;
pub mod sync;
pub mod time;

pub use event::{Event, EventKind};
pub use local::{CapturedAsOf, LocalState, LocalStore};
pub use lock::{Busy, SessionLock};
pub use model::{Agent, MetaError, SessionMeta, Status};
pub use name::NameError;
pub use store::{EventRecord, Session, Store, StoreError};

/// A new stable session id: 16 hex digits.
pub fn new_id() -> String {
    format!("{:016x}", name::random_seed())
}
