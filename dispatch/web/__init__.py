"""The dispatch side's HTTP parts: the board, paging webhooks, page links, calendars."""
