//! The messages on the wire.

use crate::{AppendResponse, AppendResult, Message, VoteRequest, VoteResponse, MAX_APPEND_ENTRIES};

use super::support::append;
use std::format;

#[test]
fn every_message_round_trips_as_json() {
    let req = VoteRequest {
        term: 3,
        last_index: 9,
        last_term: 2,
    };
    let res = VoteResponse {
        term: 3,
        granted: true,
    };
    let rejected = AppendResult::Rejected {
        prev_index: 4,
        hint_index: 2,
        hint_term: Some(1),
    };
    let messages = [
        Message::PreVote(req),
        Message::PreVoteResponse(res),
        Message::Vote(req),
        Message::VoteResponse(res),
        append(3, 1, 1, &[1, 3], 2),
        Message::AppendResponse(AppendResponse {
            term: 3,
            round: 4,
            result: rejected,
        }),
        Message::AppendResponse(AppendResponse {
            term: 3,
            round: 4,
            result: AppendResult::Accepted { match_index: 3 },
        }),
    ];
    for m in messages {
        let json = serde_json::to_string(&m).expect("serializes");
        let back: Message<u64, u64> = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, m, "{json}");
    }
}

#[test]
fn an_append_longer_than_the_bound_is_refused_when_parsed() {
    let m = append(1, 0, 0, &[1; MAX_APPEND_ENTRIES], 0);
    let json = serde_json::to_string(&m).expect("serializes");
    assert!(serde_json::from_str::<Message<u64, u64>>(&json).is_ok());
    let one_more = format!(
        r#",{{"term":1,"index":{},"payload":{{"command":0}}}}]"#,
        MAX_APPEND_ENTRIES + 1
    );
    let longer = json.replacen("}]", &format!("}}{one_more}"), 1);
    assert!(longer.len() > json.len());
    assert!(serde_json::from_str::<Message<u64, u64>>(&longer).is_err());
}
