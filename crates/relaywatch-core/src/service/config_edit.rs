//! The config edits the UI and the desktop make through the service: the config as shown
//! (secrets masked), whole saves and channel adds, updates and removals. Rule: a failed save
//! leaves the old file byte-identical, and secrets typed in go to the vault, never to the file.

use super::*;
use crate::config::channels::SecretRef;

impl Service {
    /// The settings with references (never values) and each channel secret's mask.
    pub fn config(&self) -> ConfigView {
        let s = self.settings();
        let mut secrets = BTreeMap::new();
        for c in &s.channels {
            let mut fields = BTreeMap::new();
            let mut c = c.clone();
            for f in SECRET_FIELDS {
                if let Some(Some(r)) = secret_slot(&mut c, f) {
                    fields.insert(f.to_string(), vault::mask_ref(&self.store, r));
                }
            }
            secrets.insert(c.name.clone(), fields);
        }
        let mut shown = without_literals(s);
        for url in [
            &mut shown.source.redis_url,
            &mut shown.state.redis_url,
            &mut shown.events.redis_url,
        ]
        .into_iter()
        .flatten()
        {
            *url = crate::source::mask_url(url);
        }
        for r in [
            &mut shown.events.database_url,
            &mut shown.source.database_url,
        ] {
            if let Some(SecretRef::Plain(u)) = r {
                *u = crate::secrets::mask_url(u);
            }
        }
        for c in &mut shown.channels {
            if let Some(p) = &c.proxy {
                c.proxy = Some(crate::secrets::redact_url(p));
            }
        }
        ConfigView {
            settings: shown,
            secrets,
            path: self.path.display().to_string(),
            stored_in: None,
        }
    }

    /// Validates `new` again and writes it atomically (temp file + rename, 0600). A masked
    /// Redis URL or proxy sent back unchanged keeps the stored one. On any problem nothing is
    /// written and every field error is returned.
    pub fn save_config(&self, new: Settings) -> Result<ConfigView, ServiceError> {
        let _w = lock(&self.writing);
        let old = self.settings();
        let new = unmask(new, &old);
        self.write(new)?;
        Ok(self.config())
    }

    pub(super) fn write(&self, new: Settings) -> Result<(), ServiceError> {
        let problems = new.problems();
        if !problems.is_empty() {
            return Err(ServiceError::InvalidConfig(problems));
        }
        let text = toml::to_string_pretty(&new)
            .map_err(|e| ServiceError::Io(format!("cannot render the config as TOML: {e}")))?;
        file::write_atomic(&self.path, text.as_bytes()).map_err(|e| {
            ServiceError::Io(format!(
                "cannot write the config {}: {e}; the old file is unchanged",
                self.path.display()
            ))
        })?;
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = new;
        lock(&self.cache).charts.clear();
        Ok(())
    }

    // ---- channels ---------------------------------------------------------------------------

    /// Adds a channel; the secrets typed in go to the keychain (else the 0600 secrets files)
    /// and only their references to the config.
    pub fn add_channel(&self, input: ChannelInput) -> Result<ConfigView, ServiceError> {
        let _w = lock(&self.writing);
        let mut s = self.settings();
        if s.channels.iter().any(|c| c.name == input.channel.name) {
            return Err(ServiceError::Conflict(format!(
                "a channel named {:?} exists already: choose another name, or edit that one",
                input.channel.name
            )));
        }
        s.channels.push(input.channel.clone());
        let index = s.channels.len() - 1;
        self.place_secrets(s, index, None, input)
    }

    /// Replaces channel `name`; a secret omitted from `input.secrets` keeps the stored one.
    pub fn update_channel(
        &self,
        name: &str,
        input: ChannelInput,
    ) -> Result<ConfigView, ServiceError> {
        let _w = lock(&self.writing);
        let mut s = self.settings();
        let index = s
            .channels
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| no_channel(name))?;
        if input.channel.name != name && s.channels.iter().any(|c| c.name == input.channel.name) {
            return Err(ServiceError::Conflict(format!(
                "a channel named {:?} exists already",
                input.channel.name
            )));
        }
        let old = s.channels[index].clone();
        let mut c = input.channel.clone();
        let mut old_c = old.clone();
        for f in SECRET_FIELDS {
            let kept = secret_slot(&mut old_c, f).and_then(|r| r.clone());
            if let Some(slot) = secret_slot(&mut c, f) {
                if slot.is_none() || matches!(slot, Some(SecretRef::Plain(_))) {
                    *slot = kept;
                }
            }
        }
        s.channels[index] = c;
        self.place_secrets(s, index, Some(old), input)
    }

    /// Removes channel `name` and forgets the secrets it had stored.
    pub fn remove_channel(&self, name: &str) -> Result<ConfigView, ServiceError> {
        let _w = lock(&self.writing);
        let mut s = self.settings();
        let index = s
            .channels
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| no_channel(name))?;
        let mut gone = s.channels.remove(index);
        self.write(s)?;
        for f in SECRET_FIELDS {
            if let Some(Some(r)) = secret_slot(&mut gone, f) {
                self.vault.forget(r);
            }
        }
        Ok(self.config())
    }

    /// Validates with placeholder references, then stores the typed secrets and writes.
    pub(super) fn place_secrets(
        &self,
        mut s: Settings,
        index: usize,
        old: Option<ChannelSettings>,
        input: ChannelInput,
    ) -> Result<ConfigView, ServiceError> {
        let name = s.channels[index].name.clone();
        let mut typed: Vec<(&'static str, Secret)> = Vec::new();
        let mut bad = Vec::new();
        for (field, value) in &input.secrets {
            match SECRET_FIELDS.iter().find(|f| *f == field) {
                Some(f) if !value.trim().is_empty() => typed.push((f, Secret::new(value.trim()))),
                Some(_) => {}
                None => bad.push(FieldError {
                    field: format!("secrets.{field}"),
                    value: "(hidden)".into(),
                    fix: format!("secret fields are {}", SECRET_FIELDS.join(", ")),
                }),
            }
        }
        for (f, _) in &typed {
            let r = SecretRef::Keychain {
                keychain: vault::entry_name(&name, f),
            };
            if let Some(slot) = secret_slot(&mut s.channels[index], f) {
                *slot = Some(r);
            }
        }
        let mut problems = bad;
        problems.extend(s.problems());
        if !problems.is_empty() {
            return Err(ServiceError::InvalidConfig(problems));
        }
        let mut stored = Vec::new();
        for (f, value) in &typed {
            let r = self.vault.store(&vault::entry_name(&name, f), value)?;
            if let Some(slot) = secret_slot(&mut s.channels[index], f) {
                *slot = Some(r.clone());
            }
            stored.push(r);
        }
        if let Err(e) = self.write(s) {
            for r in &stored {
                self.vault.forget(r);
            }
            return Err(e);
        }
        if let Some(mut old) = old {
            if old.name != name {
                for f in SECRET_FIELDS {
                    if let Some(Some(r)) = secret_slot(&mut old, f) {
                        if !stored.contains(r) {
                            self.vault.forget(r);
                        }
                    }
                }
            }
        }
        let mut view = self.config();
        if !typed.is_empty() {
            view.stored_in = Some(self.vault.describe());
        }
        Ok(view)
    }
}

/// `new` with masked values sent back unchanged replaced by the stored ones.
fn unmask(mut new: Settings, old: &Settings) -> Settings {
    let pairs = [
        (&mut new.source.redis_url, &old.source.redis_url),
        (&mut new.state.redis_url, &old.state.redis_url),
        (&mut new.events.redis_url, &old.events.redis_url),
    ];
    for (n, o) in pairs {
        if let (Some(nv), Some(ov)) = (n.as_ref(), o.as_ref()) {
            if *nv == crate::source::mask_url(ov) {
                *n = Some(ov.clone());
            }
        }
    }
    for (n, o) in [
        (&mut new.events.database_url, &old.events.database_url),
        (&mut new.source.database_url, &old.source.database_url),
    ] {
        if let (Some(SecretRef::Plain(n)), Some(SecretRef::Plain(o))) = (n, o) {
            if *n == crate::secrets::mask_url(o) {
                *n = o.clone();
            }
        }
    }
    for c in &mut new.channels {
        if let Some(oc) = old.channels.iter().find(|o| o.name == c.name) {
            if let (Some(np), Some(op)) = (&c.proxy, &oc.proxy) {
                if *np == crate::secrets::redact_url(op) {
                    c.proxy = Some(op.clone());
                }
            }
            for f in SECRET_FIELDS {
                let mut oc = oc.clone();
                let kept = secret_slot(&mut oc, f).and_then(|r| r.clone());
                if let Some(slot) = secret_slot(c, f) {
                    if matches!(slot, Some(SecretRef::Plain(v)) if v == "***" || v.starts_with("••••"))
                    {
                        *slot = kept;
                    }
                }
            }
        }
    }
    new
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_urls_sent_back_keep_the_stored_ones() {
        let mut old = Settings::default();
        old.source.redis_url = Some("redis://:hunter2@127.0.0.1:6379/0".into());
        let mut new = old.clone();
        new.source.redis_url = Some(crate::source::mask_url("redis://:hunter2@127.0.0.1:6379/0"));
        assert_eq!(unmask(new, &old).source.redis_url, old.source.redis_url);
    }
}
