from civitas.cli import main

main()
