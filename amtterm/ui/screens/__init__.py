"""The app's screens: the console (the main one), help, and confirmation dialogs."""
