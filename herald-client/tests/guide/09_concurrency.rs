//! Step 9: concurrent edits. Every entity read by `get_tagged` comes with its `ETag`;
//! `update_if_match` and `delete_if_match` only go through if nobody changed it since.

use herald_client::{Error, Service};

crate::guide! {
    async fn update_only_if_unchanged(herald, server) {
        let created = herald.services().create(&Service::new("Mail")).await?;
        let mine = herald.services().get_tagged(created.id).await?;
        let theirs = herald.services().get_tagged(created.id).await?;
        assert_eq!(mine.etag, theirs.etag);

        // They save first...
        let mut their_edit = theirs.entity.clone();
        their_edit.description = Some("theirs".into());
        let new_tag = herald.services().update_if_match(&their_edit, &theirs.etag).await?;
        assert_ne!(new_tag, theirs.etag);

        // ...so my save, based on the old version, is refused and changes nothing.
        let mut my_edit = mine.entity.clone();
        my_edit.description = Some("mine".into());
        match herald.services().update_if_match(&my_edit, &mine.etag).await {
            Err(Error::PreconditionFailed(_)) => {}
            other => panic!("expected 412, got {other:?}"),
        }
        let now = herald.services().get_tagged(created.id).await?;
        assert_eq!(now.entity.description.as_deref(), Some("theirs"));
        assert_eq!(now.etag, new_tag);
        Ok(())
    }

    async fn delete_only_if_unchanged(herald, server) {
        let created = herald.services().create(&Service::new("Web")).await?;
        let read = herald.services().get_tagged(created.id).await?;
        let mut renamed = read.entity.clone();
        renamed.name = "Website".into();
        herald.services().update(&renamed).await?;
        assert!(matches!(
            herald.services().delete_if_match(created.id, &read.etag).await,
            Err(Error::PreconditionFailed(_))
        ));
        let fresh = herald.services().get_tagged(created.id).await?;
        assert_eq!(herald.services().delete_if_match(created.id, &fresh.etag).await?.name, "Website");
        Ok(())
    }
}
