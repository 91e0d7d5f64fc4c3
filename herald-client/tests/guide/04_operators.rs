//! Step 4: operators, the people who sign in to the GUI and are responsible for tickets.

use herald_client::{Error, Operator};

/// The stored password of the operator with `email` is `password`.
async fn password_is(server: &crate::server::TestApp, email: &str, password: &str) -> bool {
    let (_, hash) = server
        .store
        .operator_credentials(email)
        .await
        .unwrap()
        .expect("operator exists");
    hash.expect("operator has a password").verify(password)
}

crate::guide! {
    /// The password is write-only: required on create, never returned.
    async fn create_an_operator(herald, server) {
        let olga = herald
            .operators()
            .create(
                &Operator::new("Olga", "olga@example.com")
                    .with_password("correct horse battery")
                    .admin(),
            )
            .await?;
        assert!(olga.is_admin);
        assert_eq!(olga.password, None, "never returned");
        assert!(password_is(&server, "olga@example.com", "correct horse battery").await);
        Ok(())
    }

    /// Update replaces everything except the password, which is kept when left out and
    /// changed when sent.
    async fn update_an_operator(herald, server) {
        let mut olga = herald
            .operators()
            .create(&Operator::new("Olga", "olga@example.com").with_password("first password"))
            .await?;
        olga.cell_phone = Some("555-0199".into());
        herald.operators().update(&olga).await?;
        assert_eq!(herald.operators().get(olga.id).await?.cell_phone.as_deref(), Some("555-0199"));
        assert!(password_is(&server, "olga@example.com", "first password").await);

        olga.password = Some("second password".into());
        herald.operators().update(&olga).await?;
        assert!(password_is(&server, "olga@example.com", "second password").await);
        Ok(())
    }

    /// Deleting works like any resource, but the last administrator cannot be deleted
    /// ([`Error::Conflict`]).
    async fn delete_an_operator(herald, server) {
        let admin = herald
            .operators()
            .create(&Operator::new("Ada", "ada@example.com").with_password("pass phrase one").admin())
            .await?;
        let helper = herald
            .operators()
            .create(&Operator::new("Hal", "hal@example.com").with_password("pass phrase two"))
            .await?;
        assert_eq!(herald.operators().delete(helper.id).await?.name, "Hal");
        match herald.operators().delete(admin.id).await {
            Err(Error::Conflict(message)) => assert!(!message.is_empty()),
            other => panic!("expected 409, got {other:?}"),
        }
        assert_eq!(herald.operators().list().await?, vec![admin]);
        Ok(())
    }
}
