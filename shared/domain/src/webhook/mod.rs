//! Alma user webhooks: the signature, the envelope, and the receiver that turns a
//! signed delivery into recorded, queued jobs.

mod envelope;
mod receiver;
mod signature;

pub use envelope::{parse_envelope, Envelope, EnvelopeError, UserEvent, UserEventKind};
pub use receiver::{Reception, ReceptionError, WebhookReceiver};
pub use signature::{sign, InvalidSignature, WebhookSecrets};
