import Foundation
import Hummingbird
import KetenhubTestSupport

