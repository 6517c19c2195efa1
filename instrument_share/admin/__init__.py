"""The joint office's pages about the platform itself: the mail outbox."""
