# Tests of `attnflow render` (label "render"); included from viz/CMakeLists.txt.
# The inputs are small H5MD files written by make_fixture.py (Debian's /usr/bin/python3 +
# h5py). Every test renders under xvfb-run (render re-executes itself when there is no
# DISPLAY); the tests share the resource lock "xvfb" because concurrent `xvfb-run -a` can
# race for the same display number.

set(RENDER_TEST_DIR ${CMAKE_CURRENT_BINARY_DIR}/render_tests)
set(RENDER_SRC ${CMAKE_CURRENT_LIST_DIR})
set(RENDER_CMD "$<TARGET_FILE:attnflow> render")  # one string: check.sh splits it
set(PROBE $<TARGET_FILE:attnflow_png_probe>)
set(PY /usr/bin/python3)
set(SPHERE ${RENDER_TEST_DIR}/sphere.h5)
set(SPHERE_B ${RENDER_TEST_DIR}/sphere_b.h5)
set(CIRCLE ${RENDER_TEST_DIR}/circle.h5)

add_test(NAME render_fixture
  COMMAND ${PY} ${RENDER_SRC}/make_fixture.py ${RENDER_TEST_DIR})
set_tests_properties(render_fixture PROPERTIES FIXTURES_SETUP render_inputs LABELS render)

# add_render_test(NAME script-args...): runs check.sh, which runs the render command and the
# probes given after it (see check.sh).
function(add_render_test name)
  add_test(NAME ${name} COMMAND bash ${RENDER_SRC}/check.sh ${ARGN})
  set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED render_inputs LABELS render
    RESOURCE_LOCK xvfb TIMEOUT 300
    ENVIRONMENT "RENDER=${RENDER_CMD};PROBE=${PROBE};OUT=${RENDER_TEST_DIR}/${name}")
endfunction()

# 1. Frames: size, non-background pixel count, the colour bar's end colours (index colouring
#    uses the Turbo map: 48,18,59 at index 0 and 122,4,3 at index N-1), frame count.
add_render_test(render_frames_sphere
  run ${SPHERE} --frames 0,4,-1 --size 640x480 --no-animate --no-montage
  -- files 3
  -- png frame_0000.png --size 640 480 --nonbg 20000 200000
                        --color 48 18 59 40 --color 122 4 3 40
  -- png frame_0002.png --size 640 480 --nonbg 15000 200000)

# Colouring by phase and by a per-token dataset; trails; times.
add_render_test(render_frames_phase_trail
  run ${SPHERE} --times 0,4.5,9 --color phase --trail 4 --no-animate --no-montage
  -- files 3
  -- png frame_0001.png --size 800 800 --nonbg 30000 400000)
add_render_test(render_frames_dataset_color
  run ${SPHERE} --frames -1 --color charge --no-animate
  -- files 1
  -- png frame_0000.png --size 800 800 --nonbg 20000 400000 --color 68 1 84 40)

# d = 2 on the circle: flat view.
add_render_test(render_frames_circle
  run ${CIRCLE} --frames 0,-1 --size 500x500 --color speed --no-animate --no-montage
  -- files 2
  -- png frame_0000.png --size 500 500 --nonbg 5000 150000)

# d = 5 Euclidean run without /parameters: no sphere, speed from finite differences.
add_render_test(render_frames_euclidean
  run ${RENDER_TEST_DIR}/euclid.h5 --frames 0,-1 --color speed --trail 2 --no-animate
      --no-montage
  -- files 2
  -- png frame_0000.png --size 800 800 --nonbg 10000 300000
  -- png frame_0001.png --size 800 800 --nonbg 10000 300000)

# 2. Animation (one WebP frame per rendered frame) and montage (grid of 4 x 3 cells).
add_render_test(render_animation
  run ${SPHERE} --frames all --size 400x400 --fps 5 --montage-width 200
  -- files 10
  -- webp animation.webp --frames 10
  -- png montage.png --size 832 624 --nonbg 20000 600000)

# 3. Plots (two runs, log scale, fitted rate overlay) and heat maps. Run colours: 31,119,180
#    and 255,127,14; the dashed fit of the first run: 18,71,108 (0.6 x the run colour).
add_render_test(render_plot
  run ${SPHERE} ${SPHERE_B} --plot energy,diameter --log
  -- png plot_energy.png --size 900 600 --nonbg 5000 300000 --color 31 119 180 50
                         --color 255 127 14 50
  -- png plot_energy.png --tol 6 --color 18 71 108 100
  -- png plot_diameter.png --size 900 600 --nonbg 5000 300000)
add_render_test(render_plot_all
  run ${CIRCLE} --plot all
  -- png plot_energy.png --size 900 600 --nonbg 5000 300000
  -- png plot_order_parameter.png --size 900 600 --nonbg 5000 300000)
add_render_test(render_heatmap
  run ${SPHERE} --heatmap attention
  -- png heatmap_attention.png --size 800 700 --nonbg 50000 560000 --color 253 231 37 30)
add_render_test(render_heatmap_heads
  run ${SPHERE} --heatmap sync
  -- png heatmap_sync_h0.png --size 800 700 --nonbg 50000 560000
  -- png heatmap_sync_h1.png --size 800 700 --nonbg 50000 560000)

# Bad input: exit codes 2 / 4 with a message, never a crash.
add_render_test(render_bad_input
  fail 4 ${RENDER_TEST_DIR}/garbage.h5
  -- fail 4 ${RENDER_TEST_DIR}/truncated.h5
  -- fail 4 ${RENDER_TEST_DIR}/wrong_shape.h5
  -- fail 2 ${RENDER_TEST_DIR}/does_not_exist.h5
  -- fail 2 ${SPHERE} --frames 99
  -- fail 2 ${SPHERE} --color nosuchdataset
  -- fail 2 ${SPHERE} --plot nosuchobservable
  -- fail 2 ${SPHERE} --size 10x10
  -- fail 2 ${SPHERE} --no-such-option)

# Headless: with DISPLAY unset render says it re-runs under xvfb-run and still writes PNGs.
add_render_test(render_headless
  headless ${SPHERE} --frames 0 --size 300x300)

# 5. The ParaView sidecar opens in ParaView 5.11's pvpython (private unpacked prefix; skips
#    with 77 when ParaView cannot be set up here).
add_test(NAME render_pvpython_sidecar
  COMMAND bash ${RENDER_SRC}/pvpython_sidecar.sh ${RENDER_TEST_DIR}/sphere.xdmf2 20 10
          ${CMAKE_BINARY_DIR}/paraview-cache)
set_tests_properties(render_pvpython_sidecar PROPERTIES FIXTURES_REQUIRED render_inputs
  LABELS render SKIP_RETURN_CODE 77 RESOURCE_LOCK xvfb TIMEOUT 900)

# The real thing: `attnflow run` the quickstart scenario, render it, and open its sidecar in
# ParaView (only when built inside the attnflow project).
if(EXISTS ${PROJECT_SOURCE_DIR}/scenarios/quickstart.toml)
  set(QS ${RENDER_TEST_DIR}/quickstart/quickstart.h5)
  add_test(NAME render_quickstart_run  # (a test artifact: replaced, not kept as a backup)
    COMMAND $<TARGET_FILE:attnflow> run ${PROJECT_SOURCE_DIR}/scenarios/quickstart.toml
            -o ${QS} --quiet --overwrite)
  set_tests_properties(render_quickstart_run PROPERTIES FIXTURES_SETUP render_quickstart
    LABELS render)
  add_test(NAME render_quickstart
    COMMAND bash ${RENDER_SRC}/check.sh
      run ${QS} --frames 0,-1 --color speed --trail 5 --fps 4 --plot all
      -- files 2
      -- png frame_0000.png --size 800 800 --nonbg 30000 500000
      -- png frame_0001.png --size 800 800 --nonbg 30000 500000
      -- webp animation.webp --frames 2
      -- png montage.png --size 656 328
      -- png plot_energy.png --size 900 600 --nonbg 5000 300000)
  set_tests_properties(render_quickstart PROPERTIES FIXTURES_REQUIRED render_quickstart
    LABELS render RESOURCE_LOCK xvfb TIMEOUT 300
    ENVIRONMENT "RENDER=${RENDER_CMD};PROBE=${PROBE};OUT=${RENDER_TEST_DIR}/render_quickstart")
  add_test(NAME render_quickstart_pvpython
    COMMAND bash ${RENDER_SRC}/pvpython_sidecar.sh ${RENDER_TEST_DIR}/quickstart/quickstart.xdmf2
            auto auto ${CMAKE_BINARY_DIR}/paraview-cache)
  set_tests_properties(render_quickstart_pvpython PROPERTIES FIXTURES_REQUIRED render_quickstart
    LABELS render SKIP_RETURN_CODE 77 RESOURCE_LOCK xvfb TIMEOUT 900)

  # A run whose file name needs XML escaping in the sidecar ('&', '<', '>'): ParaView still
  # opens it and finds its 64 points in each of its 5 frames.
  set(ESC_DIR ${RENDER_TEST_DIR}/escaped)
  add_test(NAME render_escaped_name_run
    COMMAND $<TARGET_FILE:attnflow> run ${PROJECT_SOURCE_DIR}/scenarios/quickstart.toml
            -o "${ESC_DIR}/a&b<c>.h5" --quiet --overwrite --set run.frames=5
            --set integrator.t_end=0.4)
  set_tests_properties(render_escaped_name_run PROPERTIES FIXTURES_SETUP render_escaped
    LABELS render)
  add_test(NAME render_escaped_name_pvpython
    COMMAND bash ${RENDER_SRC}/pvpython_sidecar.sh "${ESC_DIR}/a&b<c>.xdmf2" 64 5
            ${CMAKE_BINARY_DIR}/paraview-cache)
  set_tests_properties(render_escaped_name_pvpython PROPERTIES FIXTURES_REQUIRED render_escaped
    LABELS render SKIP_RETURN_CODE 77 RESOURCE_LOCK xvfb TIMEOUT 900)
endif()
