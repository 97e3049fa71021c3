"""framescope in the browser: `streamlit run app.py` here, or `framescope app [STUDY_DIR]` anywhere.

The navigation and the shared sidebar are built by `framescope.app.main`, which the installed
package also starts, so the repository and a wheel open the same app.
"""
from framescope.app.main import main

if __name__ == "__main__":  # Streamlit runs this file as __main__; a spawned worker process that
    main()                  # re-imports it (as __mp_main__, after an AppTest) must not start the app
