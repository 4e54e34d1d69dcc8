"""Run directories, atomic files and the offline assets: the bottom layer."""
