//! Multipart uploads that broke, aborted (AbortMultipartUpload) so that no
//! parts linger in the bucket; the old object, if any, stays as it was.
//!
//! # Why a thread of its own
//!
//! An upload breaks when its client goes: the data connection cut, the
//! control connection closed, the session over. Its abort must outlive
//! the session whose requests the loop carries on the connection's own
//! sockets, which go with it. So broken uploads are handed, as signed
//! requests, to one worker thread, which sends them one after the other
//! (each asked again as `retry.rs` says), through a queue bounded at
//! [`QUEUE`]. It is rare, small work (one bodiless DELETE per broken
//! upload) that never holds a session up; a full queue is said in the log
//! (the parts then stay until the bucket's lifecycle rule, if any, ends
//! them).

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::thread;

use log::{info, warn};

use super::endpoint::Endpoint;
use super::request::S3Request;
use super::retry::{Failure, Retry, REQUEST_TIMEOUT};

/// Aborts waiting to be sent: more than the daemon's running uploads.
const QUEUE: usize = 256;

/// An abort's answer body (an error document at most).
const MAX_ANSWER: usize = 64 * 1024;

/// Where broken uploads go to be aborted.
#[derive(Debug)]
pub struct Aborts {
    queue: SyncSender<S3Request>,
}

impl Aborts {
    /// Starts the worker that sends aborts to `endpoint`.
    pub fn start(endpoint: Endpoint) -> Result<Aborts, String> {
        let (queue, requests) = sync_channel(QUEUE);
        thread::Builder::new()
            .name("s3-aborts".into())
            .spawn(move || run(&endpoint, &requests))
            .map_err(|e| format!("cannot start the S3 abort worker: {e}"))?;
        Ok(Aborts { queue })
    }

    /// Sends `abort` soon, without waiting for it.
    pub fn send(&self, abort: S3Request) {
        match self.queue.try_send(abort) {
            Ok(()) => {}
            Err(TrySendError::Full(abort) | TrySendError::Disconnected(abort)) => {
                warn!("{}: not sent, its parts stay", abort.describe());
            }
        }
    }
}

fn run(endpoint: &Endpoint, requests: &Receiver<S3Request>) {
    for request in requests {
        let mut retry = Retry::of(&request);
        loop {
            let answer = request
                .exchange(b"", MAX_ANSWER)
                .map_err(|e| e.to_string())
                .and_then(|exchange| endpoint.exchange_now(exchange, REQUEST_TIMEOUT));
            let failure = match &answer {
                Ok((head, _)) if matches!(head.status, 200 | 204 | 404) => None,
                Ok((head, _)) => Some(Failure::Status(head.status)),
                Err(_) => Some(Failure::Cut),
            };
            let Some(failure) = failure else {
                info!("{}: aborted", request.describe());
                break;
            };
            match retry.after(failure) {
                Some(wait) => thread::sleep(wait),
                None => {
                    let why = match answer {
                        Ok((head, _)) => head.status.to_string(),
                        Err(why) => why,
                    };
                    warn!("{}: {why}; its parts stay", request.describe());
                    break;
                }
            }
        }
    }
}
