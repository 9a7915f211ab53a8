//! Turns a page-at-a-time call into a `Stream` of items.

use std::future::Future;

use futures::StreamExt;
use futures::stream::{self, BoxStream, TryStreamExt};

use crate::error::Result;
use crate::types::Page;

/// Streams every item of every page: `fetch(None)` gives the first page, `fetch(Some(token))`
/// the following ones, until a page has no (or an empty) next token. Boxed, so callers can
/// `try_next()` it without pinning.
pub(crate) fn paginate<T, F, Fut>(fetch: F) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    F: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page<T>>> + Send + 'static,
{
    enum Cursor {
        First,
        Next(String),
        Done,
    }
    stream::try_unfold((fetch, Cursor::First), |(mut fetch, cursor)| async move {
        let token = match cursor {
            Cursor::Done => return Ok::<_, crate::error::Error>(None),
            Cursor::First => None,
            Cursor::Next(t) => Some(t),
        };
        let page = fetch(token).await?;
        let next = match page.next_token {
            Some(t) if !t.is_empty() => Cursor::Next(t),
            _ => Cursor::Done,
        };
        Ok(Some((page.items, (fetch, next))))
    })
    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}

/// Like [`paginate`], for pages whose items may each fail on their own (a record Amazon sent that
/// does not parse): such an item is yielded as its error and the stream goes on with the next one.
/// A failed page (transport, throttling, an unreadable page) still ends the stream with its error.
pub(crate) fn paginate_records<T, F, Fut>(fetch: F) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    F: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page<Result<T>>>> + Send + 'static,
{
    paginate(fetch)
        .map(|item| item.and_then(|record| record))
        .boxed()
}
