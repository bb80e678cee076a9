//! The classification, table by table: which settings make which class,
//! the heaviest class wins, and what each environment asks for.

use super::*;
use crate::plan::tests::spec;
use crate::spec::{TenantStatus, Tier};
use ChangeClass::*;

fn update(edit: fn(&mut TenantSpec)) -> Vec<ChangeClass> {
    let prior = spec();
    let mut planned = spec();
    edit(&mut planned);
    classify(&TenantChange {
        prior: Some(&prior),
        planned: Some(&planned),
        replaces: false,
        changes_parts: true,
    })
}

/// What is changed, how, and the classes it makes.
type Case = (&'static str, fn(&mut TenantSpec), &'static [ChangeClass]);

#[test]
fn each_setting_has_its_class() {
    let cases: [Case; 17] = [
        ("cpu", |s| s.cpu = 1024, &[Scaling]),
        (
            "autoscaling",
            |s| {
                s.autoscaling = Some(crate::spec::Autoscaling {
                    min: 1,
                    max: 4,
                    cpu_target: 60,
                    requests_per_target: None,
                });
            },
            &[Scaling],
        ),
        ("memory", |s| s.memory = 4096, &[Scaling]),
        ("desired_count", |s| s.desired_count = 3, &[Scaling]),
        ("tier", |s| s.tier = Tier::Professional, &[Scaling]),
        ("db_max_connections", |s| s.db_max_connections = 99, &[Scaling]),
        (
            "image",
            |s| s.image = "registry.example/wordpress".into(),
            &[VersionUpgrade],
        ),
        (
            "wordpress_version",
            |s| s.wordpress_version = "6.7".into(),
            &[VersionUpgrade],
        ),
        ("php_version", |s| s.php_version = "8.4".into(), &[VersionUpgrade]),
        ("subdomain", |s| s.subdomain = "other".into(), &[ConfigurationChange]),
        ("status", |s| s.status = TenantStatus::Suspended, &[ConfigurationChange]),
        (
            "environment_variables",
            |s| {
                s.environment_variables.insert("WP_DEBUG".into(), "1".into());
            },
            &[ConfigurationChange],
        ),
        (
            "log_retention_days",
            |s| s.log_retention_days = 365,
            &[ConfigurationChange],
        ),
        (
            "deletion_protection",
            |s| s.deletion_protection = !s.deletion_protection,
            &[ConfigurationChange],
        ),
        (
            "tags",
            |s| {
                s.tags.insert("team".into(), "web".into());
            },
            &[ConfigurationChange],
        ),
        (
            "db_password_version",
            |s| s.db_password_version = Some(2),
            &[ConfigurationChange],
        ),
        (
            "scaling and a version together",
            |s| {
                s.cpu = 1024;
                s.image = "registry.example/wordpress".into();
            },
            &[Scaling, VersionUpgrade],
        ),
    ];
    for (what, edit, want) in cases {
        assert_eq!(update(edit), want, "{what}");
    }
}

#[test]
fn confirm_destroy_alone_with_no_part_changing_is_no_change() {
    let prior = spec();
    let mut planned = spec();
    planned.confirm_destroy = Some("ACME".into());
    planned.wait_for_steady_state = !planned.wait_for_steady_state;
    let change = TenantChange {
        prior: Some(&prior),
        planned: Some(&planned),
        replaces: false,
        changes_parts: false,
    };
    assert_eq!(classify(&change), []);
    assert_eq!(notice(Environment::Prod, &change), None);
}

#[test]
fn creation_deletion_replacement_and_drift() {
    let s = spec();
    let change = |prior, planned, replaces, changes_parts| TenantChange {
        prior,
        planned,
        replaces,
        changes_parts,
    };
    let cases: [(&str, TenantChange<'_>, &[ChangeClass]); 4] = [
        ("creation is not a class", change(None, Some(&s), false, true), &[]),
        ("deletion", change(Some(&s), None, false, true), &[Deletion]),
        (
            "replacement deletes the old tenant",
            change(Some(&s), Some(&s), true, true),
            &[Deletion],
        ),
        (
            "a drift repair changes the configuration back",
            change(Some(&s), Some(&s), false, true),
            &[ConfigurationChange],
        ),
    ];
    for (what, c, want) in cases {
        assert_eq!(classify(&c), want, "{what}");
    }
}

#[test]
fn the_heaviest_class_decides_and_the_others_are_named() {
    let prior = spec();
    let mut planned = spec();
    planned.cpu = 1024;
    planned.php_version = "8.4".into();
    let change = TenantChange {
        prior: Some(&prior),
        planned: Some(&planned),
        replaces: false,
        changes_parts: true,
    };
    let n = notice(Environment::Prod, &change).expect("a notice in prod");
    assert_eq!(n.class, VersionUpgrade);
    assert_eq!(n.also, [Scaling]);
    assert_eq!(n.summary(), "Change class: version upgrade (SOP §6.3)");
    assert!(n.detail().contains("It also includes: scaling."), "{}", n.detail());
    assert!(n.detail().contains("change advisory board"), "{}", n.detail());
    assert_eq!(notice(Environment::Dev, &change), None, "dev needs no approval");
}

#[test]
fn every_class_has_an_approval_in_sit_and_prod_and_none_in_dev() {
    for class in [Scaling, ConfigurationChange, VersionUpgrade, Deletion] {
        assert_eq!(approval(Environment::Dev, class), None);
        let sit = approval(Environment::Sit, class).expect("sit");
        let prod = approval(Environment::Prod, class).expect("prod");
        assert_ne!(sit, prod, "{class}: prod asks more than sit");
    }
    assert!(approval(Environment::Prod, Deletion).is_some_and(|a| a.contains("backup")));
}
