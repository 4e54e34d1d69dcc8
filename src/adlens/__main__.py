from adlens.cli.app import main

main()
