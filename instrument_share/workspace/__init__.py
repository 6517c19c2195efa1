"""The signed-in user's workspace: what is ahead, vouchers, receipts, favourite instruments and saved searches."""
