from rems.cli.main import run

run()
