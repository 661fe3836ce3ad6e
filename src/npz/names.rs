//! numpy's naming rules for `.npz` members; pure functions.

/// The key numpy lists for a member (`NpzFile.files`): its name with one
/// `.npy` suffix removed (`x.npy` is `x`, `x.npy.npy` is `x.npy`, `readme.txt`
/// stays `readme.txt`).
pub(crate) fn key_of(member: &str) -> &str {
    member.strip_suffix(".npy").unwrap_or(member)
}

/// The member name `np.savez` writes for a key: the key with `.npy` appended,
/// always (`x.npy` becomes `x.npy.npy`).
pub(crate) fn member_of(key: &str) -> String {
    format!("{key}.npy")
}

/// The member a key looks up, as `np.load(p)[key]` does: a member literally
/// named `key` if there is one, else `key.npy`.
pub(crate) fn lookup(members: &[String], key: &str) -> Option<usize> {
    members
        .iter()
        .position(|m| m == key)
        .or_else(|| members.iter().position(|m| *m == member_of(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_numpy() {
        assert_eq!(key_of("x.npy"), "x");
        assert_eq!(key_of("x.npy.npy"), "x.npy");
        assert_eq!(key_of("readme.txt"), "readme.txt");
        assert_eq!(key_of(".npy"), "");
        assert_eq!(member_of("x.npy"), "x.npy.npy");
        let members = ["x.npy".to_owned(), "x".to_owned(), "y.npy".to_owned()];
        assert_eq!(lookup(&members, "x"), Some(1));
        assert_eq!(lookup(&members, "y"), Some(2));
        assert_eq!(lookup(&members, "y.npy"), Some(2));
        assert_eq!(lookup(&members, "z"), None);
    }
}
