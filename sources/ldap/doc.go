// Package ldap is the LDAP directory source: it reads groups and users
// into a sources.Snapshot (sources.Source), re-reads a few groups cheaply
// (sources.GroupReader) and reports changes as they happen (sources.Watcher)
// with syncrepl, Active Directory DirSync or polling.
//
// # Reading
//
// Users and groups are read with RFC 2696 paged searches. Member values
// are resolved against the users read, never with one search per member;
// a member that is itself a group becomes a MemberGroups entry (the worker
// flattens nesting, cycles included). Members outside the configured bases
// or filters are ignored, and nested groups are followed only when they
// are within the group base and match the group filter. Active Directory range retrieval
// ("member;range=0-1499") is followed for big groups. Every filter built
// from configuration or data is escaped with ldap.EscapeFilter.
//
// A snapshot is Complete only when every page was read: a size or time
// limit, an administrative limit, a referral that was not followed, a
// partial result or an entry that cannot be decoded makes it incomplete,
// with the reason, and the worker then deletes nothing. Connection, bind
// and other errors fail the read.
//
// ReadGroups reads the named groups by id, the groups nested below them
// and their members; members are looked up in batches by their RDN
// ((|(uid=a)(uid=b)...)) and matched on the full DN. While the watcher may
// serve full runs from its state, ReadGroups answers from that state
// instead, without a connection (readgroups_watch.go).
//
// # Nested groups
//
// nested_groups: walk (the default) is described above: member groups
// are read like any group and the worker flattens them. nested_groups:
// in_chain is for Active Directory only: each group's flattened users are
// found with one paged search per group under the user base,
// (&<user classes><user_filter>(memberOf:1.2.840.113556.1.4.1941:=<group
// DN, escaped>)) (LDAP_MATCHING_RULE_IN_CHAIN), and the group's
// MemberUsers are those users with no MemberGroups, so the worker's
// flattening has nothing to do; ReadGroups reads no nested group. The
// cost is one search per group: in_chain suits a few large, deeply
// nested groups; walk suits many groups (it reads everything in two paged
// searches). The usual completeness rules apply to every chain search (a
// size limit makes the snapshot incomplete; another error fails the read,
// saying the server must support the rule). A server that does not know
// the rule may instead answer with nobody, as OpenLDAP does: so a group
// whose direct member users are missing from its chain result makes the
// snapshot incomplete (ReadGroups checks this only when the result is
// empty, to spend no extra search on a working server). A user removed
// from a group between the two searches does the same for one read.
// Watching is unchanged: the watcher still tracks direct members.
//
// # Watching
//
// Watch mode "syncrepl" runs an RFC 4533 refreshAndPersist search over
// the lowest DN above both bases, keyed on entryUUID. A membership change
// arrives as the whole group entry and is compared with the last member
// set; a rename is a modify with a new DN; a delete carries only the UUID
// and is named from memory. The cookie is saved through CookieStore after
// every message; on start with a saved cookie the source first reads the
// directory (to know who is in which group), then resumes, reporting every
// entry the refresh sends and every group that names a member that no
// longer exists. A present phase (what slapd sends when the session log
// does not reach back far enough) prunes everything not named. A cookie
// the server refuses (e-syncRefreshRequired, a garbage cookie) is dropped
// and the refresh runs in full, compared with what was known (slapd 2.5
// answers unknown or garbage cookies with a full refresh instead, which
// is reported entry by entry). The syncrepl connection has no read
// timeout (TCP keepalive finds a dead peer); lost connections are retried
// forever with exponential backoff and jitter.
//
// Every watcher keeps the last seen users and groups in memory, indexed by
// member value, so the groups a change affects (and the groups nesting
// them) are found in time proportional to those groups, not to the
// directory. The first refresh without a cookie, and the first read of
// dirsync and poll, only fill that memory: the worker's full
// reconciliation covers what they hold, so no change is worked out for
// them (BenchmarkTrackerScale measures both at 100,000 users).
//
// Watch mode "dirsync" polls Active Directory with the DirSync control
// every PollInterval, persisting its cookie the same way; changed
// attributes are merged into the last full entry, isDeleted entries are
// deletions. It asks for incremental values (0x80000000), so a change to
// a group sends only the member values that changed, "member;range=1-1"
// (present) and "member;range=0-0" (removed), applied to the members the
// watcher knows; a round without a cookie sends every member that way. A
// ranged member attribute of another form holds only some values: the
// group's members are then read in full. It asks for name too: AD reports a rename or a move (a user
// moved out of the user base leaves its groups) only as a change of name,
// never of cn. The first poll after a restart with a saved cookie reports
// every entry it returns (the directory was read after those changes).
// Like a syncrepl session, a DirSync session may serve the daemon's full
// runs from its state (watchstate.go): Snapshot first asks it for a poll
// and waits for that poll, and only a session that started from a round
// without a cookie and has seen nothing doubtful since vouches for it.
// DirSync is tested against Samba's AD DC and with recorded responses.
// The search base is the lowest DN above both bases: AD requires it
// to be a naming context root, so put both bases under the domain root or
// set them to it.
//
// 389-DS's syncrepl (Content Synchronization) sends an entry changed
// before a refresh from a cookie without its operational attributes
// (nsUniqueId, nsAccountLock): such an entry is read again by DN. Its
// sync UUIDs are nsUniqueId's bytes in another format (syncID). The
// differences between OpenLDAP, 389-DS and AD are listed in
// docs/architecture.md.
//
// Watch mode "poll" searches for entries whose modifyTimestamp is at or
// after the newest one seen, every PollInterval, and reads everything
// every FullReadInterval to find deletions. "auto" picks syncrepl when the
// root DSE advertises 1.3.6.1.4.1.4203.1.9.1.1, DirSync when it advertises
// 1.2.840.113556.1.4.841, else poll; "none" reports nothing (the scheduled
// full reconciliation still runs).
//
// A change names the affected groups and every group above them; a user
// change names every group the user is in, so a disabled or re-mailed user
// is re-resolved. Changes are triggers: the worker re-reads the groups.
//
// # Options
//
// Every option, by its key under a source's "ldap:" block in the YAML
// configuration (the Config field in brackets) and its default:
//
//	urls                   servers tried in order: ldap://, ldaps://, ldapi:// (required) [URLs]
//	start_tls              upgrade ldap:// with StartTLS (false) [StartTLS]
//	ca_file                CA bundle to verify the server (system roots) [CAFile]
//	cert_file, key_file    client certificate for TLS [CertFile, KeyFile]
//	server_name            name checked in the server certificate (the URL's host) [ServerName]
//	insecure_skip_verify   do not verify the certificate; logged as a warning (false) [InsecureSkipVerify]
//	bind_dn                DN for a simple bind (required unless anonymous) [BindDN]
//	bind_password          its password, or bind_password_file (read by cmd); never logged [BindPassword]
//	anonymous              allow running without bind_dn (false) [Anonymous]
//	connect_timeout        dial + TLS + bind (10s) [ConnectTimeout]
//	timeout                each request on read connections; not on syncrepl (60s) [Timeout]
//	schema                 openldap | rfc2307bis | rfc2307 | 389ds | activedirectory (openldap) [Schema]
//	group_base_dn          where groups are (required) [GroupBaseDN]
//	user_base_dn           where users are (required) [UserBaseDN]
//	group_scope            sub | one | base (sub) [GroupScope]
//	user_scope             sub | one | base (sub) [UserScope]
//	group_filter           extra filter ANDed with the group classes, e.g. (cn=lightdash-*) [GroupFilter]
//	user_filter            extra filter ANDed with the user classes (AD: (objectCategory=person)) [UserFilter]
//	page_size              RFC 2696 page size (500) [PageSize]
//	group_object_classes   preset: groupOfNames, groupOfUniqueNames | posixGroup | group [GroupObjectClasses]
//	user_object_classes    preset: inetOrgPerson | posixAccount | user [UserObjectClasses]
//	member_attributes      preset: member, uniqueMember | memberUid | member [MemberAttributes]
//	member_value           dn | uid: members are user names, as memberUid (preset) [MemberValue]
//	user_name_attribute    login name memberUid refers to (uid; AD sAMAccountName) [UserNameAttribute]
//	id_attribute           stable id: entryUUID | nsUniqueId (389ds) | objectGUID (AD, as a GUID string) [IDAttribute]
//	email_attributes       tried in order; first value is Email, the rest AltEmails (mail; AD mail, userPrincipalName) [EmailAttributes]
//	display_name_attribute users' name in reports (cn; AD displayName) [DisplayNameAttribute]
//	group_name_attribute   groups' name (cn) [GroupNameAttribute]
//	disabled               none | ad (userAccountControl bit 2) | attribute (none; 389ds attribute; AD ad) [Disabled]
//	disabled_attribute     with disabled: attribute (389ds nsAccountLock) [DisabledAttribute]
//	disabled_values        values meaning disabled, case-insensitive (389ds "true") [DisabledValues]
//	nested_groups          walk | in_chain: expand nesting by walking member groups, or with AD's LDAP_MATCHING_RULE_IN_CHAIN (walk) [NestedGroups]
//	watch                  auto | syncrepl | dirsync | poll | none (auto) [Watch]
//	poll_interval          poll and dirsync interval (1m) [PollInterval]
//	full_read_interval     poll mode full read, to find deletions (10m) [FullReadInterval]
//
// Config fields without a YAML key: ReconnectMin and ReconnectMax bound
// the reconnect backoff (1s, 1m); CookieKey names the saved cookie
// (derived from the name and the bases, so changing a base starts afresh).
//
// OpenLDAP example:
//
//	sources:
//	  - name: corp
//	    type: ldap
//	    ldap:
//	      urls: [ldap://ldap1.example.com, ldap://ldap2.example.com]
//	      start_tls: true
//	      ca_file: /etc/ssl/certs/corp-ca.pem
//	      bind_dn: cn=lightdash-sync,ou=services,dc=example,dc=com
//	      bind_password_file: /run/secrets/ldap-password
//	      schema: openldap
//	      group_base_dn: ou=groups,dc=example,dc=com
//	      group_filter: (cn=lightdash-*)
//	      user_base_dn: ou=people,dc=example,dc=com
//	      watch: syncrepl
//
// Active Directory example:
//
//	sources:
//	  - name: ad
//	    type: ldap
//	    ldap:
//	      urls: [ldaps://dc1.corp.example:636, ldaps://dc2.corp.example:636]
//	      ca_file: /etc/ssl/certs/corp-root.pem
//	      bind_dn: CN=svc-lightdash,OU=Service Accounts,DC=corp,DC=example
//	      bind_password_file: /run/secrets/ad-password
//	      schema: activedirectory
//	      group_base_dn: DC=corp,DC=example
//	      group_filter: (cn=Lightdash *)
//	      user_base_dn: DC=corp,DC=example
//	      email_attributes: [mail, userPrincipalName]
//	      watch: dirsync
//	      poll_interval: 1m
//
// Not done: uSNChanged for polling, SASL binds.
//
// # Metrics
//
//	lightdash_sync_ldap_connected{source}                 1 while the watcher holds a connection
//	lightdash_sync_ldap_searches_total{source,kind,result} searches (users, groups, members, poll, dirsync; ok, incomplete, error)
//	lightdash_sync_ldap_entries_read_total{source,kind}   entries read (users, groups, members, poll, dirsync; syncrepl: sent by the server)
//	lightdash_sync_ldap_changes_total{source,mode}        changes sent to the worker
//	lightdash_sync_ldap_reconnects_total{source}          watcher reconnects
package ldap
