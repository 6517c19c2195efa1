"""Entrusted testing (委托测试): a firm's samples tested by an institution, a report back."""
