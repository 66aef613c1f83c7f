# nbgrader settings for the homework in this folder (nbgrader 0.9).
#
# Append them to the nbgrader_config.py of your course directory (the one `nbgrader quickstart` wrote):
#
#     cat /path/to/this/repository/homework/nbgrader_config.py >> nbgrader_config.py
#
# Settings further down the file win, so these replace quickstart's. tests/test_nbgrader.py grades with
# exactly this file, and checks that every name in it is a setting of the installed nbgrader.

c = get_config()  # noqa: F821 (nbgrader defines get_config when it reads this file)

# Seconds one cell may run when nbgrader executes a notebook (autograde, validate). nbgrader's default, 30 s,
# is too short. At full size the slowest cells of the reference solutions (hw2's final run, hw3's synthesis)
# take about 20 s on an idle 2-core laptop, but over 250 s when the grader shares a busy 2-core machine; a cell
# that times out fails, and so do the checks after it. 600 s leaves room for that; a student's endless loop
# still ends after 10 minutes.
c.Execute.timeout = 600

# No NAME / COLLABORATORS header (quickstart sets source/header.ipynb): with it off, the notebooks that
# `nbgrader generate_assignment` writes to release/ equal the ones in homework/, cell by cell.
c.IncludeHeaderFooter.header = ""
