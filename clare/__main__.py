from clare.cli.main import main

main()
