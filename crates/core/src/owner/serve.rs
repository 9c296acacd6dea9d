//! The owner's side: one [`OwnerCall`] run by the very same
//! [`SessionService`] the `eventual` mode uses, over the owner's store.

use crate::clock::Clock;
use crate::random::Random;
use crate::service::{SessionError, SessionService, Writer};
use crate::store::KvStore;

use super::protocol::{OwnerCall, OwnerReply, WireSession};

/// Runs `call` and answers it. An input the owner cannot read (a session
/// that does not decode) is refused as the store's error, never a panic.
pub async fn serve<S: KvStore, C: Clock, R: Random>(
    service: &SessionService<S, C, R>,
    call: OwnerCall,
) -> OwnerReply {
    match run(service, call).await {
        Ok(reply) => reply,
        Err(e) => OwnerReply::failed(&e),
    }
}

async fn run<S: KvStore, C: Clock, R: Random>(
    service: &SessionService<S, C, R>,
    call: OwnerCall,
) -> Result<OwnerReply, SessionError> {
    Ok(match call {
        OwnerCall::Create { new } => {
            let (token, session) = service.create(new.into()).await?;
            OwnerReply::Created {
                token: token.into_string(),
                session: WireSession::from_session(&session),
            }
        }
        OwnerCall::Verify { token } => OwnerReply::session(&service.verify(&token).await?),
        OwnerCall::Get { id } => OwnerReply::session(&service.get(&id).await?),
        OwnerCall::Update { id, patch } => OwnerReply::session(&service.update(&id, &patch).await?),
        OwnerCall::UpdateSession {
            session,
            patch,
            admin,
        } => {
            let writer = if admin { Writer::Admin } else { Writer::Holder };
            let session = session.into_session()?;
            OwnerReply::session(&service.update_session(&session, &patch, writer).await?)
        }
        OwnerCall::Refresh { session } => {
            OwnerReply::session(&service.refresh(&session.into_session()?).await?)
        }
        OwnerCall::Slide { session } => {
            OwnerReply::slide(&service.slide(&session.into_session()?).await?)
        }
        OwnerCall::DestroySession { session } => {
            service.destroy_session(&session.into_session()?).await?;
            OwnerReply::Done { value: true }
        }
        OwnerCall::Destroy { id, user_id } => {
            let value = match user_id {
                Some(user_id) => service.destroy_owned(&user_id, &id).await?,
                None => service.destroy(&id).await?,
            };
            OwnerReply::Done { value }
        }
        OwnerCall::ListUser { user_id, current } => OwnerReply::Summaries {
            sessions: service.list_user(&user_id, current.as_deref()).await?,
        },
        OwnerCall::DestroyUser { user_id, except } => OwnerReply::Count {
            n: service.destroy_user(&user_id, except.as_deref()).await?,
        },
    })
}
