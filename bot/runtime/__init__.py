"""The running bot: feeds in, decisions, execution, start-up reconciliation. `bot.engine` wires it."""
