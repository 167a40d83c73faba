"""The running bot: feeds in, decisions, execution, start-up reconciliation. `bot.runtime.engine` wires it."""
