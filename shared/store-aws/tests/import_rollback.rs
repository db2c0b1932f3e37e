//! A bulk import on DynamoDB is all or nothing beyond one transaction: failures
//! injected part-way (a rival writer, an answer lost after the write) leave
//! nothing of the import behind, checked by GetItem on every key it could have
//! written, and never remove what another writer owns.
//!
//! The SDK client carries an interceptor that counts the TransactWriteItems
//! calls (so the tests know the failure came after two written transactions)
//! and can turn one call's answer into an error after moto applied it.

mod support;

use aws_sdk_dynamodb::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use patron_hub_domain::accounts::{
    Account, AccountId, AccountState, AccountStore, AccountWriteError, Email, Language, PersonName,
    UserName,
};
use patron_hub_domain::SystemClock;
use patron_hub_store_aws::AwsStore;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::Fixture;

/// Accounts per import: three transactions (25, 25 and 10 accounts).
const IMPORTED: usize = 60;
/// The account of the third transaction that meets the injected failure.
const CONFLICTING: usize = 55;

/// What the interceptor saw of TransactWriteItems, and which answer it loses.
#[derive(Debug, Default)]
struct Transactions {
    calls: AtomicUsize,
    written: AtomicUsize,
    cancelled: AtomicUsize,
    /// The call (counted from 1) whose answer becomes an error, 0 for none.
    lose_answer_of: AtomicUsize,
}

#[derive(Debug, Clone)]
struct Watch(Arc<Transactions>);

impl Intercept for Watch {
    fn name(&self) -> &'static str {
        "WatchTransactions"
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let seen = &self.0;
        match context.output_or_error() {
            Some(Ok(output)) if output.downcast_ref::<TransactWriteItemsOutput>().is_some() => {
                seen.written.fetch_add(1, Ordering::SeqCst);
            }
            Some(Err(error))
                if error
                    .as_operation_error()
                    .and_then(|e| e.downcast_ref::<TransactWriteItemsError>())
                    .is_some() =>
            {
                seen.cancelled.fetch_add(1, Ordering::SeqCst);
            }
            _ => return Ok(()),
        }
        let call = seen.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if call == seen.lose_answer_of.load(Ordering::SeqCst) {
            return Err("injected: the answer of this transaction was lost".into());
        }
        Ok(())
    }
}

impl Transactions {
    fn count(&self) -> (usize, usize) {
        (
            self.written.load(Ordering::SeqCst),
            self.cancelled.load(Ordering::SeqCst),
        )
    }
}

/// A store on a fresh table whose client reports its transactions to `seen`.
async fn watched_store(fixture: &Fixture, seen: &Arc<Transactions>) -> AwsStore {
    let config = patron_hub_store_aws::sdk_config_loader().load().await;
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(Watch(seen.clone()))
            .build(),
    );
    AwsStore::new(
        dynamodb,
        fixture.sqs.clone(),
        fixture.table.clone(),
        fixture.queues.clone(),
        Arc::new(SystemClock),
    )
}

fn account(name: &str) -> Account {
    Account {
        id: AccountId::new(),
        user_name: UserName::parse(name).expect("a valid user name"),
        email: Email::parse(&format!("{name}@example.org")).expect("a valid e-mail"),
        first_name: PersonName::parse("first_name", "Anne").expect("a valid name"),
        last_name: PersonName::parse("last_name", "Import").expect("a valid name"),
        department: None,
        department_roles: vec!["CIRCULATION".to_owned()],
        paid: false,
        state: AccountState::Active,
        expires_on: None,
        network_roles: BTreeSet::new(),
        password_hash: None,
        language: Language::Fr,
        created_at: Utc::now(),
        last_seen_at: None,
        password_changed_at: None,
        version: 1,
    }
}

fn import() -> Vec<Account> {
    let word = &uuid::Uuid::new_v4().simple().to_string()[..10];
    (0..IMPORTED)
        .map(|i| account(&format!("imp{i}.{word}")))
        .collect()
}

fn key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("sk".to_owned(), AttributeValue::S(sk)),
    ])
}

/// Every item the layout (crate doc) gives an account: the account, its two
/// markers and its directory entry.
fn keys_of(account: &Account) -> [(String, HashMap<String, AttributeValue>); 4] {
    let name = account.user_name.key();
    [
        (
            "account",
            key(format!("ACCOUNT#{}", account.id), "ACCOUNT".to_owned()),
        ),
        (
            "user-name marker",
            key(format!("USERNAME#{name}"), "MARKER".to_owned()),
        ),
        (
            "e-mail marker",
            key(format!("EMAIL#{}", account.email), "MARKER".to_owned()),
        ),
        (
            "directory entry",
            key("ACCOUNTS".to_owned(), format!("{name}#{}", account.id)),
        ),
    ]
    .map(|(what, key)| (what.to_owned(), key))
}

/// The item at `key`, read through a client without interceptor.
async fn stored(
    fixture: &Fixture,
    key: HashMap<String, AttributeValue>,
) -> Option<HashMap<String, AttributeValue>> {
    fixture
        .dynamodb
        .get_item()
        .table_name(&fixture.table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem on moto")
        .item
}

/// Fails unless no item of `accounts` is stored, except `rival`'s e-mail marker
/// (which must still name the rival).
async fn assert_nothing_left(fixture: &Fixture, accounts: &[Account], rival: Option<&Account>) {
    for (index, imported) in accounts.iter().enumerate() {
        for (what, key) in keys_of(imported) {
            let item = stored(fixture, key).await;
            match (rival, what.as_str()) {
                (Some(rival), "e-mail marker") if index == CONFLICTING => {
                    let holder = item.as_ref().and_then(|i| i.get("account_id")).cloned();
                    assert_eq!(
                        holder,
                        Some(AttributeValue::S(rival.id.to_string())),
                        "the rival's e-mail marker must survive the rollback"
                    );
                }
                _ => assert_eq!(item, None, "the {what} of imported account {index} remains"),
            }
        }
    }
}

/// The service's check passes, then a rival writer takes the e-mail of the 56th
/// account before the import reaches its third transaction: the two
/// transactions already written are undone and the refusal names the e-mail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_in_the_third_transaction_undoes_the_two_before() {
    let fixture = Fixture::new().await;
    let seen = Arc::new(Transactions::default());
    let store = watched_store(&fixture, &seen).await;
    let accounts = import();
    let names: Vec<UserName> = accounts.iter().map(|a| a.user_name.clone()).collect();
    let emails: Vec<Email> = accounts.iter().map(|a| a.email.clone()).collect();
    let (taken_names, taken_emails) = store.taken(&names, &emails).await.expect("taken");
    assert!(
        taken_names.is_empty() && taken_emails.is_empty(),
        "the check found nothing taken"
    );

    let rival = Account {
        email: accounts[CONFLICTING].email.clone(),
        ..account(&format!(
            "rival.{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        ))
    };
    let other_writer = fixture.store(fixture.queues.clone(), Arc::new(SystemClock));
    other_writer
        .create(&rival)
        .await
        .expect("the rival's account is created");

    match store.create_all(&accounts).await {
        Err(AccountWriteError::EmailTaken(email)) => assert_eq!(email, rival.email.as_str()),
        other => panic!("the import must be refused for the rival's e-mail, got {other:?}"),
    }
    assert_eq!(
        seen.count(),
        (2, 1),
        "two import transactions were written, then the third was refused"
    );
    assert_nothing_left(&fixture, &accounts, Some(&rival)).await;
    assert_eq!(
        store.find_by_email(&rival.email).await.expect("lookup"),
        Some(rival.clone())
    );
    assert_eq!(store.get(rival.id).await.expect("lookup"), Some(rival));
}

/// The third transaction is written but its answer is lost: the outcome is
/// unknown, so the import undoes it with the two before and reports the failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_written_without_answer_is_undone_too() {
    let fixture = Fixture::new().await;
    let seen = Arc::new(Transactions::default());
    seen.lose_answer_of.store(3, Ordering::SeqCst);
    let store = watched_store(&fixture, &seen).await;
    let accounts = import();

    match store.create_all(&accounts).await {
        Err(AccountWriteError::Store(_)) => {}
        other => panic!("a lost answer must be a storage error, got {other:?}"),
    }
    assert_eq!(seen.count(), (3, 0), "all three transactions were written");
    assert_nothing_left(&fixture, &accounts, None).await;

    store
        .create_all(&accounts)
        .await
        .expect("the same import again succeeds");
    for imported in &accounts {
        assert_eq!(
            store.get(imported.id).await.expect("lookup").as_ref(),
            Some(imported)
        );
    }
}

/// The third transaction is refused by a rival's marker, but its answer is lost:
/// the rollback also tries that transaction's keys, and its condition on the
/// import id spares the rival's marker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_never_removes_what_another_writer_owns() {
    let fixture = Fixture::new().await;
    let seen = Arc::new(Transactions::default());
    let store = watched_store(&fixture, &seen).await;
    let accounts = import();
    let rival = Account {
        email: accounts[CONFLICTING].email.clone(),
        ..account(&format!(
            "rival.{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        ))
    };
    let other_writer = fixture.store(fixture.queues.clone(), Arc::new(SystemClock));
    other_writer
        .create(&rival)
        .await
        .expect("the rival's account is created");
    seen.lose_answer_of.store(3, Ordering::SeqCst);

    match store.create_all(&accounts).await {
        Err(AccountWriteError::Store(_)) => {}
        other => panic!("a lost answer must be a storage error, got {other:?}"),
    }
    assert_eq!(seen.count(), (2, 1), "two written, the third refused");
    assert_nothing_left(&fixture, &accounts, Some(&rival)).await;
    assert_eq!(
        store.find_by_email(&rival.email).await.expect("lookup"),
        Some(rival)
    );
}
