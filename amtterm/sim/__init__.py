"""The simulated AMT device: redirection and WS-Management servers with hosts behind them."""
