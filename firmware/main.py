"""Boot entry of the controller: hand the board HAL to the controller and run it forever."""
import board

from controller import app

app.run(board.Board())
