"""The manager's desk: an institution's queues, schedules and trails."""
