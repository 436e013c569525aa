# The audit log has no admin pages: it is read through the log review (workspace, /logg/), which
# limits what each security officer sees to their organisation and audits the reading itself.
