//! OpenCode 2: its export format (`type`-tagged messages with `content[]`), the conversion to
//! and from OpenCode 1's, and its CLI (`opencode session export|import`). The same agent as
//! OpenCode 1: sessions share the ref namespace and id space.

pub mod convert;
pub mod load;
pub mod patch;
pub mod schema;
pub mod session;
pub mod source;
