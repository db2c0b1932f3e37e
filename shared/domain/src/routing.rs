//! The routing rules: which institutions a webhook event must reach, and how.

use crate::webhook::{UserEvent, UserEventKind};
use crate::{InstitutionCode, Job, JobAction, Network};
use serde::{Deserialize, Serialize};

/// The configurable part of routing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingRules {
    /// `job_category` values whose users are copied between member institutions
    /// (external readers and inter-library-loan accounts).
    pub distributed_job_categories: Vec<String>,
    /// Whether a deletion in one member institution deletes the user everywhere.
    pub distribute_deletions: bool,
}

impl Default for RoutingRules {
    fn default() -> Self {
        Self {
            distributed_job_categories: vec!["Exterieur".to_owned(), "PEB".to_owned()],
            distribute_deletions: false,
        }
    }
}

/// Where an event goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// One job per target institution.
    Jobs(Vec<Job>),
    /// Nothing to do, and why.
    Ignored(String),
}

/// Routes one user event through the network.
pub fn route(event: &UserEvent, network: &Network, rules: &RoutingRules) -> Route {
    let ignore = |reason: String| Route::Ignored(reason);
    let origin = &event.institution;
    let Some(primary_id) = event.user.primary_id() else {
        return ignore("the user has no primary_id".to_owned());
    };
    let action = if network.is_zone(origin) {
        match event.kind {
            UserEventKind::Created => JobAction::Link,
            other => {
                return ignore(format!(
                    "{} in the network zone: Alma propagates it to linked copies itself",
                    other.as_str()
                ))
            }
        }
    } else if network.is_member(origin) {
        let category = event.user.code_value("job_category").unwrap_or_default();
        if !rules
            .distributed_job_categories
            .iter()
            .any(|c| c == category)
        {
            return ignore(format!(
                "job_category {category:?} is not distributed between institutions"
            ));
        }
        match event.kind {
            UserEventKind::Created | UserEventKind::Updated => JobAction::Upsert,
            UserEventKind::Deleted if rules.distribute_deletions => JobAction::Delete,
            UserEventKind::Deleted => {
                return ignore("deletions are not distributed".to_owned());
            }
        }
    } else {
        return ignore(format!("institution {origin} is not in this network"));
    };
    let targets = network.members.iter().filter(|m| *m != origin);
    let jobs = targets
        .map(|target: &InstitutionCode| Job {
            event_id: event.id.clone(),
            institution: target.clone(),
            origin: origin.clone(),
            action,
            primary_id: primary_id.clone(),
            event_time: event.time,
            user: (action == JobAction::Upsert).then(|| event.user.clone()),
        })
        .collect();
    Route::Jobs(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AlmaUser;
    use serde_json::json;

    fn code(c: &str) -> InstitutionCode {
        InstitutionCode::parse(c).unwrap()
    }

    fn network() -> Network {
        Network {
            zone: code("NZ"),
            members: vec![code("A"), code("B"), code("C")],
        }
    }

    fn event(from: &str, kind: UserEventKind, category: &str) -> UserEvent {
        UserEvent {
            id: "e1".to_owned(),
            institution: code(from),
            kind,
            time: chrono::DateTime::UNIX_EPOCH,
            user: serde_json::from_value::<AlmaUser>(json!({
                "primary_id": "p1", "job_category": {"value": category}
            }))
            .unwrap(),
        }
    }

    fn targets(route: Route) -> Vec<(String, JobAction)> {
        match route {
            Route::Jobs(jobs) => jobs
                .into_iter()
                .map(|j| (j.institution.to_string(), j.action))
                .collect(),
            Route::Ignored(reason) => panic!("ignored: {reason}"),
        }
    }

    #[test]
    fn zone_creation_links_into_every_member() {
        let r = route(
            &event("NZ", UserEventKind::Created, "Student"),
            &network(),
            &RoutingRules::default(),
        );
        let expected: Vec<_> = ["A", "B", "C"]
            .iter()
            .map(|c| (c.to_string(), JobAction::Link))
            .collect();
        assert_eq!(targets(r), expected);
    }

    #[test]
    fn zone_update_is_left_to_alma() {
        let r = route(
            &event("NZ", UserEventKind::Updated, "Student"),
            &network(),
            &RoutingRules::default(),
        );
        assert!(matches!(r, Route::Ignored(_)));
    }

    #[test]
    fn external_reader_goes_to_every_other_member_only() {
        for kind in [UserEventKind::Created, UserEventKind::Updated] {
            let r = route(
                &event("B", kind, "Exterieur"),
                &network(),
                &RoutingRules::default(),
            );
            assert_eq!(
                targets(r),
                vec![
                    ("A".to_owned(), JobAction::Upsert),
                    ("C".to_owned(), JobAction::Upsert)
                ]
            );
        }
    }

    #[test]
    fn upsert_jobs_carry_the_user_and_link_jobs_do_not() {
        let Route::Jobs(jobs) = route(
            &event("A", UserEventKind::Updated, "PEB"),
            &network(),
            &RoutingRules::default(),
        ) else {
            panic!()
        };
        assert!(jobs.iter().all(|j| j.user.is_some()));
        let Route::Jobs(jobs) = route(
            &event("NZ", UserEventKind::Created, "PEB"),
            &network(),
            &RoutingRules::default(),
        ) else {
            panic!()
        };
        assert!(jobs.iter().all(|j| j.user.is_none()));
    }

    #[test]
    fn other_categories_unknown_institutions_and_deletions_are_ignored() {
        let rules = RoutingRules::default();
        assert!(matches!(
            route(
                &event("A", UserEventKind::Created, "Student"),
                &network(),
                &rules
            ),
            Route::Ignored(_)
        ));
        assert!(matches!(
            route(
                &event("Z", UserEventKind::Created, "PEB"),
                &network(),
                &rules
            ),
            Route::Ignored(_)
        ));
        assert!(matches!(
            route(
                &event("A", UserEventKind::Deleted, "PEB"),
                &network(),
                &rules
            ),
            Route::Ignored(_)
        ));
    }

    #[test]
    fn deletions_can_be_distributed() {
        let rules = RoutingRules {
            distribute_deletions: true,
            ..RoutingRules::default()
        };
        let r = route(
            &event("C", UserEventKind::Deleted, "PEB"),
            &network(),
            &rules,
        );
        assert_eq!(
            targets(r),
            vec![
                ("A".to_owned(), JobAction::Delete),
                ("B".to_owned(), JobAction::Delete)
            ]
        );
    }
}
