"""The box office: the door service now, the scanner PWA and its JSON API later."""
